"""Examples derived from a contract, for events whose contract gives none.

A team's provider (or one imported from an OpenAPI document: GitHub's describes 261 webhooks
and gives examples for 6) may have schemas and no example payload. The suite needs one valid
payload per event to start from, so one is derived from the schema: every property in the
``full`` mode (the required ones only in ``minimal``), values realistic for their format and
pattern, numbers inside their bounds, the first branch of a ``oneOf``/``anyOf`` that the
contract takes. Derivation is deterministic for a seed. The result is validated against the
contract; one that does not validate is a catalogue error naming the schema file.
"""

from __future__ import annotations

import copy
import random
import re
import string
from collections.abc import Callable, Mapping
from re import _parser as sre_parse  # the stdlib's own parser
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from referencing._core import Resolver

if TYPE_CHECKING:
    from hookproof.catalogue.loading import Provider
    from hookproof.catalogue.validation import ValidationEngine

MAX_DEPTH = 12
"""Past this depth only required properties are derived (GitHub's schemas nest repositories
in organisations in installations...)."""

FORMAT_SAMPLES: dict[str, tuple[str, ...]] = {
    "date-time": ("2026-01-15T09:30:00Z", "2026-03-02T17:04:05+01:00"),
    "date": ("2026-01-15", "2025-12-31"),
    "time": ("09:30:00Z", "17:04:05+01:00"),
    "duration": ("PT30S", "P1DT2H"),
    "email": ("octocat@example.com", "alice@example.org"),
    "idn-email": ("octocat@example.com",),
    "hostname": ("hooks.example.com", "api.example.org"),
    "idn-hostname": ("hooks.example.com",),
    "ipv4": ("192.0.2.10", "198.51.100.7"),
    "ipv6": ("2001:db8::10", "2001:db8::7"),
    "uri": ("https://example.com/items/1", "https://api.example.org/v1/things/42"),
    "iri": ("https://example.com/items/1",),
    "uri-reference": ("/items/1", "https://example.com/items/1"),
    "iri-reference": ("/items/1",),
    "uri-template": ("https://api.example.com/items{/id}", "https://example.com/{owner}/{repo}"),
    "uuid": ("0b989ba4-242f-11e5-81e1-c7b6966d2516", "9c2c7f1e-1f0e-4f4c-9a8d-2a5b3c4d5e6f"),
    "json-pointer": ("/data/id", ""),
    "relative-json-pointer": ("0/id", "1"),
    "regex": ("^[a-z]+$", "[0-9]{3}"),
    "json-object-text": ('{"key":"value"}', "{}"),
    "json-array-text": ('["a"]', "[]"),
}
"""Valid values of every defined format (each passes its check in ``formats``)."""


class DeriveError(ValueError):
    """The schema admits no value this derivation can find."""


def derive(schema: Any, resolver: Resolver[Any], *, seed: int = 0, minimal: bool = False,
           accepts: Callable[[Any, Any, Resolver[Any]], bool],
           formats: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """A value of ``schema`` (resolved with ``resolver``). ``accepts(value, node, resolver)``
    says whether a node's schema takes a value (it picks the branch of a ``oneOf``);
    ``formats``: the keyword formats in force (``int64``, a provider's own)."""
    return _Deriver(random.Random(seed), minimal, accepts, formats or {}).value(
        schema, resolver, (), 0)


class _Deriver:
    def __init__(self, rng: random.Random, minimal: bool,
                 accepts: Callable[[Any, Any, Resolver[Any]], bool],
                 formats: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.rng = rng
        self.minimal = minimal
        self.accepts = accepts
        self.formats = formats or {}

    def value(self, node: Any, resolver: Resolver[Any], path: tuple[str, ...],
              depth: int) -> Any:
        if depth > 64:
            raise DeriveError(f"the schema at {'.'.join(path) or '$'} nests without end")
        if node is True or node == {}:
            return "example"
        if not isinstance(node, dict):
            raise DeriveError(f"no value satisfies the schema at {'.'.join(path) or '$'}")
        node, resolver = self._merged(node, resolver, depth)
        named_format = node.get("format")
        if isinstance(named_format, str) and named_format in self.formats:
            node = _combine({k: v for k, v in node.items() if k != "format"},
                            dict(self.formats[named_format]))
        if "const" in node:
            return node["const"]
        if isinstance(node.get("enum"), list) and node["enum"]:
            values = [v for v in node["enum"] if v is not None] or node["enum"]
            return values[0]
        for key in ("oneOf", "anyOf"):
            branches = node.get(key)
            if isinstance(branches, list) and branches:
                return self._branch(node, key, branches, resolver, path, depth)
        kind = self._type(node)
        if kind == "object":
            return self._object(node, resolver, path, depth)
        if kind == "array":
            return self._array(node, resolver, path, depth)
        if kind == "string":
            return self._string(node, path)
        if kind in ("integer", "number"):
            return self._number(node, kind)
        if kind == "boolean":
            return True
        return None

    def _merged(self, node: dict[str, Any], resolver: Resolver[Any],
                depth: int) -> tuple[dict[str, Any], Resolver[Any]]:
        """``node`` with its ``$ref`` and ``allOf`` folded in (the resolver of the last
        referenced schema, so relative references inside it still resolve)."""
        merged: dict[str, Any] = {}
        ref = node.get("$ref")
        if isinstance(ref, str):
            resolved = resolver.lookup(ref)
            inner, resolver = self._merged(resolved.contents, resolved.resolver, depth + 1) \
                if isinstance(resolved.contents, dict) else ({}, resolved.resolver)
            merged.update(inner)
        for key, value in node.items():
            if key not in ("$ref", "allOf"):
                merged = _combine(merged, {key: value})
        for sub in node.get("allOf") or ():
            if isinstance(sub, dict):
                inner, _ = self._merged(sub, resolver, depth + 1)
                merged = _combine(merged, inner)
        return merged, resolver

    def _branch(self, node: dict[str, Any], key: str, branches: list[Any],
                resolver: Resolver[Any], path: tuple[str, ...], depth: int) -> Any:
        rest = {k: v for k, v in node.items() if k != key}
        ordered = sorted(branches, key=lambda b: isinstance(b, dict) and b.get("type") == "null")
        for branch in ordered:
            candidate = {**rest, **branch} if isinstance(branch, dict) and "$ref" not in branch \
                else {**rest, "allOf": [branch]}
            try:
                value = self.value(candidate, resolver, path, depth + 1)
            except DeriveError:
                continue
            if self.accepts(value, node, resolver):
                return value
        raise DeriveError(f"no branch of the {key} at {'.'.join(path) or '$'} could be "
                          "derived")

    @staticmethod
    def _type(node: dict[str, Any]) -> str:
        kind = node.get("type")
        if isinstance(kind, list):
            if not kind:  # types that exclude each other (allOf of a string and a null)
                raise DeriveError("no type satisfies every allOf branch")
            kinds = [k for k in kind if k != "null"]
            return str(kinds[0]) if kinds else "null"
        if isinstance(kind, str):
            return kind
        if "properties" in node or "required" in node:
            return "object"
        if "items" in node or "prefixItems" in node:
            return "array"
        if any(k in node for k in ("minimum", "maximum", "multipleOf")):
            return "number"
        return "string"

    def _object(self, node: dict[str, Any], resolver: Resolver[Any], path: tuple[str, ...],
                depth: int) -> dict[str, Any]:
        properties = node.get("properties") or {}
        required = [str(r) for r in node.get("required") or ()]
        names = list(required)
        if not self.minimal and depth <= MAX_DEPTH:
            names += [name for name in properties if name not in names]
        out: dict[str, Any] = {}
        for name in names:
            sub = properties.get(name, True)
            out[name] = self.value(sub, resolver, (*path, name), depth + 1)
        return out

    def _array(self, node: dict[str, Any], resolver: Resolver[Any], path: tuple[str, ...],
               depth: int) -> list[Any]:
        prefix = node.get("prefixItems") or []
        items = node.get("items", True)
        low = int(node.get("minItems", 0))
        count = max(low, len(prefix), 0 if self.minimal or depth > MAX_DEPTH else 1)
        if items is False:
            count = min(count, len(prefix))
        out: list[Any] = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            try:
                out.append(self.value(sub, resolver, (*path, str(index)), depth + 1))
            except DeriveError:
                if index < low:
                    raise
                break  # an item no value satisfies: the array stays as short as it may
        return out

    def _string(self, node: dict[str, Any], path: tuple[str, ...]) -> str:
        fmt = node.get("format")
        pattern = node.get("pattern")
        low = int(node.get("minLength", 0))
        high = node.get("maxLength")
        if isinstance(pattern, str):
            text = from_pattern(pattern, self.rng)
        elif isinstance(fmt, str) and fmt in FORMAT_SAMPLES:
            text = self.rng.choice(FORMAT_SAMPLES[fmt])
        else:
            text = f"example-{path[-1]}" if path else "example"
            text = re.sub(r"[^A-Za-z0-9_.-]", "-", text)
        if len(text) < low:
            text += "x" * (low - len(text))
        if isinstance(high, int) and len(text) > high:
            text = text[:high]
        return text

    def _number(self, node: dict[str, Any], kind: str) -> int | float:
        low = node.get("minimum")
        high = node.get("maximum")
        if isinstance(node.get("exclusiveMinimum"), int | float):
            low = node["exclusiveMinimum"] + (1 if kind == "integer" else 0.5)
        if isinstance(node.get("exclusiveMaximum"), int | float):
            high = node["exclusiveMaximum"] - (1 if kind == "integer" else 0.5)
        start = low if isinstance(low, int | float) else 1
        stop = high if isinstance(high, int | float) else start + 1000
        stop = min(stop, start + 1000)
        step = node.get("multipleOf")
        if kind == "integer" or isinstance(step, int):
            value: int | float = self.rng.randint(int(-(-start // 1)), int(stop // 1)) \
                if stop >= start else int(start)
            if isinstance(step, int) and step > 0:
                value = -(-value // step) * step
            return value
        return float(start) + 0.5 if start + 0.5 <= stop else float(start)


def _combine(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (as ``allOf`` means): properties both give are both held, the
    required lists joined, the types intersected; any other keyword: the second's."""
    out = dict(first)
    for key, value in second.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(value, dict):
            properties = dict(out[key])
            for name, sub in value.items():
                properties[name] = ({"allOf": [properties[name], sub]} if name in properties
                                    else sub)
            out[key] = properties
        elif key == "required" and isinstance(value, list):
            out[key] = [*out[key], *(v for v in value if v not in out[key])]
        elif key == "type":
            mine = out[key] if isinstance(out[key], list) else [out[key]]
            theirs = value if isinstance(value, list) else [value]
            both = [t for t in mine if t in theirs or (t == "integer" and "number" in theirs)]
            both += [t for t in theirs if t == "integer" and "number" in mine and t not in both]
            out[key] = both if len(both) != 1 else both[0]
        elif key in ("items", "additionalProperties", "contains") and isinstance(
                value, dict) and isinstance(out[key], dict):
            out[key] = {"allOf": [out[key], value]}
        else:
            out[key] = value
    return out


_WORD = string.ascii_letters + string.digits + "_"
_CATEGORIES = {
    sre_parse.CATEGORY_DIGIT: string.digits,
    sre_parse.CATEGORY_WORD: _WORD,
    sre_parse.CATEGORY_SPACE: " ",
    sre_parse.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre_parse.CATEGORY_NOT_WORD: "-",
    sre_parse.CATEGORY_NOT_SPACE: _WORD,
}
_PRINTABLE = string.ascii_letters + string.digits + "-_."


def from_pattern(pattern: str, rng: random.Random) -> str:
    """A string that ``pattern`` (unanchored, as JSON Schema reads it) matches."""
    try:
        parsed = sre_parse.parse(pattern)
        text = _emit(parsed, rng, {})
    except (re.error, RecursionError, DeriveError, IndexError, TypeError, ValueError):
        raise DeriveError(f"no string could be derived for the pattern {pattern!r}") from None
    if re.search(pattern, text) is None:
        raise DeriveError(f"no string could be derived for the pattern {pattern!r}")
    return text


def _emit(items: Any, rng: random.Random, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, arg in items:
        out.append(_emit_one(op, arg, rng, groups))
    return "".join(out)


def _emit_one(op: Any, arg: Any, rng: random.Random, groups: dict[int, str]) -> str:
    if op == sre_parse.LITERAL:
        return chr(arg)
    if op == sre_parse.NOT_LITERAL:
        return next(c for c in _PRINTABLE if ord(c) != arg)
    if op == sre_parse.ANY:
        return rng.choice(string.ascii_lowercase)
    if op == sre_parse.IN:
        return _from_set(arg, rng)
    if op == sre_parse.BRANCH:
        return _emit(arg[1][0], rng, groups)
    if op == sre_parse.SUBPATTERN:
        group, _, _, body = arg
        text = _emit(body, rng, groups)
        if group is not None:
            groups[group] = text
        return text
    if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT",
                                                                   None)):
        low, high, body = arg
        count = low if high == low else min(max(low, 1), high)
        count = min(count, max(low, 64))
        return "".join(_emit(body, rng, groups) for _ in range(count))
    if op == sre_parse.GROUPREF:
        return groups.get(arg, "")
    if op in (sre_parse.AT, sre_parse.ASSERT, sre_parse.ASSERT_NOT):
        return ""
    if op == sre_parse.CATEGORY:
        return _CATEGORIES.get(arg, "a")[0]
    raise DeriveError(f"regular expression construct {op} is not derived")


def _from_set(items: list[tuple[Any, Any]], rng: random.Random) -> str:
    if items and items[0][0] == sre_parse.NEGATE:
        excluded: set[str] = set()
        for op, arg in items[1:]:
            if op == sre_parse.LITERAL:
                excluded.add(chr(arg))
            elif op == sre_parse.RANGE:
                excluded.update(chr(c) for c in range(arg[0], arg[1] + 1))
            elif op == sre_parse.CATEGORY:
                excluded.update(_CATEGORIES.get(arg, ""))
        return next(c for c in _PRINTABLE + string.punctuation if c not in excluded)
    choices: list[str] = []
    for op, arg in items:
        if op == sre_parse.LITERAL:
            choices.append(chr(arg))
        elif op == sre_parse.RANGE:
            low, high = arg
            choices.extend(chr(c) for c in range(low, min(high, low + 60) + 1))
        elif op == sre_parse.CATEGORY:
            choices.extend(_CATEGORIES.get(arg, "a"))
    if not choices:
        raise DeriveError("an empty character set")
    return rng.choice(choices)


# -- the examples a team's provider gets ---------------------------------------------------------

DERIVE_SEED = 0
"""Derived examples are the same on every run and in every process (pytest-xdist workers
must agree on every case)."""


def _schema_file(uri: str) -> str:
    from hookproof.catalogue.loading import _USER_FILES

    file = _USER_FILES.get(uri)
    return str(file) if file is not None else uri


def _named(provider: Provider, event_name: str, value: Any) -> Any:
    """``value`` with the body field that names the event set to ``event_name``'s part."""
    wanted = provider.field_value_of(event_name)
    if wanted is None or not isinstance(value, dict) or not provider.event_fields:
        return value
    from hookproof.catalogue.variants import has_path, set_path

    for dotted in provider.event_fields:
        path = tuple(dotted.split("."))
        if has_path(value, path):
            return set_path(value, path, wanted)
    return value


def derive_valid(engine: ValidationEngine, provider: Provider, event_name: str, uri: str,
                 *, minimal: bool, seed: int = DERIVE_SEED) -> Any:
    """A payload of the event valid against its contract (errors and drift alike)."""
    resolver = engine.catalogue.registry.resolver(base_uri=uri)
    schema = engine.catalogue.schemas[uri]

    def accepts(value: Any, node: Any, node_resolver: Resolver[Any]) -> bool:
        validator = Draft202012Validator(node, registry=engine.catalogue.registry,
                                         _resolver=node_resolver,
                                         format_checker=engine.format_checker)
        return bool(validator.is_valid(value))

    from hookproof.catalogue.validation import formats_for

    value = derive(schema, resolver, seed=seed, minimal=minimal, accepts=accepts,
                   formats=formats_for(engine.catalogue, uri))
    named = _named(provider, event_name, value)
    validator = engine.validator(uri)
    if named is not value and validator.is_clean(named):
        return named
    for _ in range(32):
        if validator.is_clean(value):
            return value
        errors = validator.validate(value).errors
        if not errors:
            return value
        # a contract may hold a property no value satisfies (GitHub's advisory ``author``:
        # a user object that must also be null): leave out the optional property holding it
        trimmed = _without(value, errors[0].path, validator)
        if trimmed is None:
            break
        value = trimmed
    raise DeriveError(f"{errors[0].path}: {errors[0].message}")


def _without(value: Any, json_path_text: str, validator: Any) -> Any | None:
    """``value`` without the innermost property on ``json_path_text`` whose removal brings
    no ``required`` error there, or None."""
    parts = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]",
                       json_path_text)
    path: list[str | int] = [a or b or int(c) for a, b, c in parts]
    while path:
        if isinstance(path[-1], int):
            path.pop()
            continue
        trial = copy.deepcopy(value)
        node = trial
        for part in path[:-1]:
            node = node[part]
        node.pop(path[-1], None)
        if not any(f.keyword == "required" and f.path == _json(path)
                   for f in validator.validate(trial).errors):
            return trial
        path.pop()
    return None


def _json(parts: list[str | int]) -> str:
    from hookproof.catalogue.validation import json_path

    return json_path(parts)


def _nulled(engine: ValidationEngine, uri: str, payload: Any) -> Any | None:
    """``payload`` with null in every present field whose contract allows null."""
    from hookproof.catalogue.variants import ANY_ITEM, has_path, sites

    def nullable(schema: dict[str, Any]) -> bool:
        kinds = schema.get("type")
        if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
            return True
        return any(isinstance(b, dict) and b.get("type") == "null"
                   for key in ("anyOf", "oneOf") for b in schema.get(key) or ())

    paths = [s.path for s in sites(engine.catalogue, uri)
             if ANY_ITEM not in s.path and nullable(s.schema) and has_path(payload, s.path)]
    validator = engine.validator(uri)
    candidate = copy.deepcopy(payload)
    for path in paths:
        node = candidate
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):  # not inside a field already made null
            node[path[-1]] = None
    if paths and not validator.validate(candidate).errors:
        return candidate
    candidate, changed = payload, False
    for path in (p for p in paths if len(p) == 1):
        trial = {**candidate, path[0]: None}
        if not validator.validate(trial).errors:
            candidate, changed = trial, True
    return candidate if changed else None
