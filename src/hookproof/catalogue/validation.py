"""Validate payloads against the contracts, keeping errors and drift apart.

* An **error** breaks a documented rule: a required field missing, a wrong type, a pattern,
  a format, a constant.
* **Drift** is what a platform may legitimately start sending: a field the contract does not
  know, or a value outside a closed enum. Receivers must tolerate it; a team validating
  captured traffic wants to see it, apart from errors.

Contracts on disk tolerate unknown fields. Validation uses a *strict* copy of every schema in
which each documented object (one with ``properties`` and no ``additionalProperties`` of its
own) gets ``unevaluatedProperties: false``; what that flags, and every ``enum`` failure, is
drift. The strict copy is checked first by the Rust-backed ``jsonschema_rs`` (fast, yes/no);
only a payload that fails is explained by ``jsonschema``, whose errors carry paths.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urljoin

import referencing
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing.jsonschema import DRAFT202012

from hookproof.catalogue import BASE_URI, Catalogue, Provider, load_catalogue
from hookproof.catalogue.formats import (
    FORMATS,
    KEYWORD_FORMATS,
    STRING_FORMATS,
    keyword_formats,
)
from hookproof.errors import InputError

FindingKind = Literal["error", "drift"]

# Keywords whose values are subschemas (dict) or lists of subschemas. `if` and `not` are left
# out on purpose: they are tests, and a strict test would change which branch applies.
_SCHEMA_VALUED = ("additionalProperties", "unevaluatedProperties", "items", "contains",
                  "then", "else", "propertyNames", "contentSchema", "unevaluatedItems")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SAME_INSTANCE = ("then", "else", "dependentSchemas")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXTRA_KEYS = re.compile(r"\((.*) (?:was|were) unexpected\)$", re.DOTALL)


@dataclass(frozen=True)
class Finding:
    """One thing wrong (``error``) or new (``drift``) in a payload."""

    kind: FindingKind
    path: str
    """Where, as a JSON path: ``$.data.contact.id``, ``$['MessagingBinding.Address'][1]``."""
    message: str
    keyword: str
    """The JSON Schema keyword that flagged it: ``required``, ``enum``, ``type``…"""
    schema_path: str
    """Where in the contract the rule is: ``properties/data/required``."""
    parts: tuple[str | int, ...] = field(default=(), compare=False, repr=False)
    """The path as keys and indexes, to find the value in a file."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class ValidationResult:
    errors: tuple[Finding, ...] = ()
    drift: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """No documented rule is broken (drift may still be present)."""
        return not self.errors


def json_path(parts: Iterable[object]) -> str:
    """Render a path as ``$.name['Dotted.Key'][0]``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif isinstance(part, str) and _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{str(part)!r}]")
    return "".join(out)


def strictify(schema: Any, uri: str = "", composed: frozenset[str] = frozenset()) -> Any:
    """A copy of ``schema`` in which every documented object rejects unknown keys.

    An object built of parts (``allOf: [{"$ref": "repository"}, {"properties": ...}]``, as
    GitHub's are) is closed where it is composed: the parts stay open, since each part sees
    only its own properties. ``composed`` holds the absolute references (``uri#pointer``)
    that some ``allOf`` composes with other parts: those nodes stay open too.
    """
    result = copy.deepcopy(schema)
    _strictify_in_place(result, uri, "", composed, part=False)
    return result


DRIFT_MARK = "x-hookproof-drift"
"""Marks, in a strict copy, the subschema whose failure is drift rather than an error."""


def composed_targets(schemas: Mapping[str, Any]) -> frozenset[str]:
    """Every ``uri#pointer`` an ``allOf`` composes with another part (see :func:`strictify`)."""
    found: set[str] = set()

    def walk(node: Any, base: str) -> None:
        if isinstance(node, dict):
            parts = node.get("allOf")
            if isinstance(parts, list) and len(parts) + ("properties" in node) > 1:
                for part in parts:
                    if isinstance(part, dict) and isinstance(part.get("$ref"), str):
                        found.add(_absolute(base, part["$ref"]))
            for value in node.values():
                walk(value, base)
        elif isinstance(node, list):
            for value in node:
                walk(value, base)

    for uri, schema in schemas.items():
        walk(schema, uri)
    return frozenset(found)


def _absolute(base: str, ref: str) -> str:
    target = urljoin(base, ref)
    return target if "#" in target else target + "#"


def _strictify_in_place(node: Any, uri: str, pointer: str, composed: frozenset[str],
                        *, part: bool) -> None:
    if not isinstance(node, dict):
        return
    documented = node.pop("x-documented", None)
    if isinstance(documented, dict):
        # The contract accepts more than the platform documents (a number where the docs
        # say string, as real traffic shows): what only the documented rule refuses is drift.
        node["allOf"] = [*node.get("allOf", ()), {**documented, DRIFT_MARK: True}]
    parts = [p for p in node.get("allOf") or () if isinstance(p, dict)]
    composing = any("properties" in p or "$ref" in p for p in parts)
    if (
        ("properties" in node or composing)
        and not part
        and f"{uri}#{pointer}" not in composed
        and "additionalProperties" not in node
        and "unevaluatedProperties" not in node
    ):
        node["unevaluatedProperties"] = False
    for key in _SCHEMA_VALUED:
        if key in node:
            # `then`, `else` apply to this same object, as allOf parts do: closed here (an
            # unevaluatedProperties sees what they evaluate), never at them
            _strictify_in_place(node[key], uri, f"{pointer}/{key}", composed,
                                part=key in _SAME_INSTANCE)
    for key in _SCHEMA_LISTS:
        for index, sub in enumerate(node.get(key) or ()):
            _strictify_in_place(sub, uri, f"{pointer}/{key}/{index}", composed,
                                part=key == "allOf" and composing)
    for key in _SCHEMA_MAPS:
        for name, sub in (node.get(key) or {}).items():
            escaped = str(name).replace("~", "~0").replace("/", "~1")
            _strictify_in_place(sub, uri, f"{pointer}/{key}/{escaped}", composed,
                                part=key in _SAME_INSTANCE)


@functools.lru_cache(maxsize=512)
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA 262: `$` matches at the very end only. Python's `$` also
    # matches before a final newline, which would let "AC…\n" pass a SID pattern here while
    # the fast path (and every other validator) rejects it.
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[*+}]\)?(?:[^()\\]|\\.)*\)[*+{]")
"""A group holding a quantifier, itself repeated (``(a+)+``, ``(\\w*x)*``): what Python's
``re`` backtracks on exponentially."""


def backtracking(pattern: str) -> bool:
    """Whether Python's ``re`` could take exponential time on ``pattern``."""
    return NESTED_QUANTIFIER.search(pattern) is not None


@functools.lru_cache(maxsize=512)
def _linear_matcher(pattern: str) -> Any:
    """A matcher for ``pattern`` that runs in linear time (Rust's regex engine, through
    jsonschema_rs), or None where it cannot be had."""
    try:
        import jsonschema_rs

        return jsonschema_rs.Draft202012Validator({"type": "string", "pattern": pattern})
    except Exception:  # no jsonschema_rs, or a pattern its engine does not take
        return None


def pattern_matches(pattern: str, text: str) -> bool:
    """JSON Schema's ``pattern`` (unanchored ECMA 262) over ``text``, never exponential: a
    pattern Python would backtrack on is matched by a linear-time engine."""
    if backtracking(pattern):
        matcher = _linear_matcher(pattern)
        if matcher is not None:
            return bool(matcher.is_valid(text))
    return _ecma_regex(pattern).search(text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not pattern_matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Explainer = validators.extend(Draft202012Validator, {"pattern": _pattern})


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, function in FORMATS.items():
        checker.checks(name)(function)
    return checker


def _extra_keys(message: str) -> list[str]:
    match = _EXTRA_KEYS.search(message)
    if match is None:
        return []
    try:
        keys = ast.literal_eval(f"[{match.group(1)}]")
    except (ValueError, SyntaxError):
        return []
    return [str(k) for k in keys]


def _finding(kind: FindingKind, parts: list[Any], message: str, keyword: str,
             schema_path: str) -> Finding:
    return Finding(kind, json_path(parts), message, keyword, schema_path, tuple(parts))


def _classify(error: ValidationError) -> list[Finding]:
    keyword = str(error.validator)
    path = list(error.absolute_path)
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    if keyword == "unevaluatedProperties":
        keys = _extra_keys(error.message) or ["?"]
        return [
            _finding("drift", [*path, key], f"unknown field {key!r}", keyword, schema_path)
            for key in keys
        ]
    if keyword == "additionalProperties":
        keys = _extra_keys(error.message) or ["?"]
        return [
            _finding("error", [*path, key], f"{key!r} is not allowed here", keyword,
                     schema_path)
            for key in keys
        ]
    if isinstance(error.schema, Mapping) and error.schema.get(DRIFT_MARK):
        return [_finding("drift", path, f"undocumented value {error.instance!r} "
                         f"(documented: {keyword} {error.validator_value!r})", keyword,
                         schema_path)]
    if keyword == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return [
            _finding("drift", path, f"undocumented value {error.instance!r} "
                     f"(documented: {allowed})", keyword, schema_path)
        ]
    if keyword in ("anyOf", "oneOf") and error.context:
        # a branch refused only for drift (an unknown field inside it) is the branch the
        # value takes, with that drift: platforms add fields inside nullable objects too
        branches: dict[object, list[Finding]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).extend(_classify(sub))
        for findings in branches.values():
            if findings and all(f.kind == "drift" for f in findings):
                return findings
    if keyword == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        missing = [k for k in error.validator_value if k not in instance]
        return [
            _finding("error", [*path, key], f"required field {key!r} is missing", keyword,
                     schema_path)
            for key in missing
        ]
    return [_finding("error", path, _json_message(error), keyword, schema_path)]


def _json_message(error: ValidationError) -> str:
    """The message with the offending value written as JSON (``["a", "b"]``), the way the
    person reading it wrote it, rather than as a Python repr (``['a', 'b']``)."""
    message = str(error.message)
    shown = repr(error.instance)
    if message.startswith(shown):
        try:
            text = json.dumps(error.instance, ensure_ascii=False)
        except (TypeError, ValueError):
            return message
        if len(text) > 200:
            text = text[:200] + "…"
        return text + message[len(shown):]
    return message


class _YesNo(Protocol):
    def is_valid(self, instance: Any) -> bool: ...


class ContractValidator:
    """Validates instances against one contract (schema URI) of a catalogue."""

    def __init__(self, engine: ValidationEngine, uri: str) -> None:
        self.uri = uri
        schema = engine.strict_schemas[uri]
        self._explainer = _Explainer(
            schema, registry=engine.strict_registry, format_checker=engine.format_checker
        )
        self._fast: _YesNo | None = engine.fast_validator(schema)

    def is_clean(self, instance: Any) -> bool:
        """True when the instance has neither errors nor drift (the fast path)."""
        if self._fast is not None:
            return self._fast.is_valid(instance)
        return bool(self._explainer.is_valid(instance))

    def validate(self, instance: Any) -> ValidationResult:
        if self.is_clean(instance):
            return ValidationResult()
        findings: list[Finding] = []
        seen: set[tuple[str, str, str]] = set()
        for error in self._explainer.iter_errors(instance):
            for finding in _classify(error):
                key = (finding.kind, finding.path, finding.message)
                if key not in seen:
                    seen.add(key)
                    findings.append(finding)
        findings.sort(key=lambda f: (f.path, f.keyword))
        return ValidationResult(
            errors=tuple(f for f in findings if f.kind == "error"),
            drift=tuple(f for f in findings if f.kind == "drift"),
        )


def formats_for(catalogue: Catalogue, uri: str) -> Mapping[str, Mapping[str, Any]]:
    """The keyword formats in force in the schema ``uri``: OpenAPI's, and its provider's own."""
    for provider in catalogue.providers.values():
        if provider.formats and uri.startswith(f"{BASE_URI}{provider.id}/"):
            return {**KEYWORD_FORMATS, **provider.formats}
    return KEYWORD_FORMATS


class ValidationEngine:
    """Strict copies of a catalogue's schemas and validators compiled from them, cached."""

    def __init__(self, catalogue: Catalogue, *, fast: bool = True) -> None:
        self.catalogue = catalogue
        composed = composed_targets(catalogue.schemas)
        self.strict_schemas = {
            uri: keyword_formats(strictify(s, uri, composed), formats_for(catalogue, uri))
            for uri, s in catalogue.schemas.items()}
        self.strict_registry: referencing.Registry[Any] = catalogue.registry.with_resources(
            (uri, DRAFT202012.create_resource(s)) for uri, s in self.strict_schemas.items()
        )
        self.format_checker = _format_checker()
        self._rs_registry: Any = None
        self._use_fast = fast
        self._validators: dict[str, ContractValidator] = {}

    def fast_validator(self, schema: Any) -> _YesNo | None:
        if not self._use_fast:
            return None
        try:
            import jsonschema_rs
        except ImportError:  # the fast path is an optimisation; jsonschema alone is correct
            return None
        if self._rs_registry is None:
            self._rs_registry = jsonschema_rs.Registry(list(self.strict_schemas.items()))
        validator: _YesNo = jsonschema_rs.Draft202012Validator(
            schema,
            registry=self._rs_registry,
            formats=STRING_FORMATS,  # asked of strings only: no type check in Python
            validate_formats=True,
            # a format nobody defines is ignored, as JSON Schema says (and as the explaining
            # path does); every defined one is ours, above
            ignore_unknown_formats=True,
        )
        return validator

    def validator(self, uri: str) -> ContractValidator:
        validator = self._validators.get(uri)
        if validator is None:
            validator = self._validators[uri] = ContractValidator(self, uri)
        return validator


_ENGINES: dict[int, ValidationEngine] = {}


def engine_for(catalogue: Catalogue | None = None) -> ValidationEngine:
    """The cached validation engine of ``catalogue`` (default: the bundled one)."""
    catalogue = catalogue or load_catalogue()
    engine = _ENGINES.get(id(catalogue))
    if engine is None or engine.catalogue is not catalogue:
        engine = _ENGINES[id(catalogue)] = ValidationEngine(catalogue)
    return engine


def resolve_event(provider: Provider, payload: object, event: str | None = None) -> str:
    """The event a payload is: ``event`` if given, else the name the platform put in it."""
    if event is not None:
        provider.event(event)  # raises UnknownEventError with the known names
        return event
    inferred = provider.event_name_of(payload)
    if inferred is None:
        where = provider.naming_places() or "nowhere"
        raise InputError(
            f"cannot tell which {provider.id} event this is (looked in: {where}); "
            "give --event"
        )
    provider.event(inferred)
    return inferred


def validate(
    payload: object,
    *,
    provider: str,
    event: str | None = None,
    catalogue: Catalogue | None = None,
) -> ValidationResult:
    """Validate one request payload of ``provider`` against its event's contract.

    ``event`` is inferred from the payload where the platform puts its name there. Form
    payloads are given as a mapping of parameters (a repeated key as a list of strings).
    """
    engine = engine_for(catalogue)
    spec = engine.catalogue.provider(provider)
    name = resolve_event(spec, payload, event)
    return engine.validator(spec.event(name).request).validate(payload)


def validate_response(body: object, *, provider: str, event: str,
                      catalogue: Catalogue | None = None) -> ValidationResult:
    """Validate the JSON answer of a response-bearing hook against its response contract."""
    engine = engine_for(catalogue)
    spec = engine.catalogue.provider(provider).event(event)
    if spec.response is None:
        raise InputError(f"{provider} {event} bears no response contract")
    return engine.validator(spec.response).validate(body)


def validate_resource(document: object, *, provider: str, resource: str,
                      catalogue: Catalogue | None = None) -> ValidationResult:
    """Validate a documented REST resource (e.g. Twilio's Webhook Configuration)."""
    engine = engine_for(catalogue)
    spec = engine.catalogue.provider(provider).resource(resource)
    return engine.validator(spec.schema).validate(document)
