"""Payload variants the checks send, derived from the contracts and the examples.

The contract tells where the closed enums are, which strings are free text, and what is
required; the examples give a valid starting point. Each function returns a new payload.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from referencing._core import Resolver

from hookproof.catalogue import Catalogue

Path = tuple[str | int, ...]
ANY_ITEM = "*"


@dataclass(frozen=True)
class Site:
    """A property of a contract: where it is and its (resolved) schema."""

    path: tuple[str, ...]
    schema: dict[str, Any]


def _sites(node: Any, resolver: Resolver[Any], path: tuple[str, ...],
           depth: int = 0) -> Iterator[Site]:
    if not isinstance(node, dict) or depth > 24:
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved = resolver.lookup(ref)
        yield from _sites(resolved.contents, resolved.resolver, path, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or ():
            yield from _sites(sub, resolver, path, depth + 1)
    for key in ("then", "else"):
        if key in node:
            yield from _sites(node[key], resolver, path, depth + 1)
    for name, sub in (node.get("properties") or {}).items():
        yield Site((*path, name), _flatten(sub, resolver))
        yield from _sites(sub, resolver, (*path, name), depth + 1)
    if isinstance(node.get("items"), dict):
        yield from _sites(node["items"], resolver, (*path, ANY_ITEM), depth + 1)


def _flatten(node: Any, resolver: Resolver[Any], depth: int = 0) -> dict[str, Any]:
    """The keywords of ``node`` merged with those of the schema it refers to."""
    if not isinstance(node, dict):
        return {}
    merged: dict[str, Any] = {}
    ref = node.get("$ref")
    if isinstance(ref, str) and depth < 24:
        resolved = resolver.lookup(ref)
        merged.update(_flatten(resolved.contents, resolved.resolver, depth + 1))
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return merged


_SITES: dict[tuple[int, str], list[Site]] = {}


def sites(catalogue: Catalogue, uri: str) -> list[Site]:
    """Every property of the contract ``uri`` (walked once per catalogue and contract)."""
    key = (id(catalogue), uri)
    found = _SITES.get(key)
    if found is None:
        found = _SITES[key] = _walk_sites(catalogue, uri)
    return found


def _walk_sites(catalogue: Catalogue, uri: str) -> list[Site]:
    resolver = catalogue.registry.resolver(base_uri=uri)
    resolved = resolver.lookup(uri)
    seen: dict[tuple[str, ...], Site] = {}
    for site in _sites(resolved.contents, resolved.resolver, ()):
        seen.setdefault(site.path, site)
    return list(seen.values())


def enum_sites(catalogue: Catalogue, uri: str) -> list[Site]:
    """Properties holding a closed enum."""
    return [s for s in sites(catalogue, uri) if isinstance(s.schema.get("enum"), list)]


def free_text_sites(catalogue: Catalogue, uri: str) -> list[Site]:
    """String properties with no pattern, format, enum or const: any text goes."""
    out = []
    for site in sites(catalogue, uri):
        schema = site.schema
        types = schema.get("type")
        if types != "string" and types != ["string"]:
            continue
        if any(k in schema for k in ("pattern", "format", "enum", "const", "maxLength")):
            continue
        out.append(site)
    return out


def json_text_sites(catalogue: Catalogue, uri: str) -> list[Site]:
    return [s for s in sites(catalogue, uri) if s.schema.get("format") == "json-object-text"]


def has_path(payload: Any, path: tuple[str, ...]) -> bool:
    node = payload
    for part in path:
        if part == ANY_ITEM:
            if not isinstance(node, list) or not node:
                return False
            node = node[0]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def set_path(payload: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of ``payload`` with ``value`` at ``path`` (every item where the path has ``*``)."""
    result = copy.deepcopy(payload)

    def assign(node: Any, rest: tuple[str, ...]) -> None:
        head, tail = rest[0], rest[1:]
        if head == ANY_ITEM:
            for item in node if isinstance(node, list) else ():
                if tail:
                    assign(item, tail)
            return
        if not isinstance(node, dict) or head not in node:
            return
        if tail:
            assign(node[head], tail)
        else:
            node[head] = value

    assign(result, path)
    return result


def remove_path(payload: Any, path: tuple[str, ...]) -> Any:
    result = copy.deepcopy(payload)
    node = result
    for part in path[:-1]:
        node = node[0] if part == ANY_ITEM else node[part]
    node.pop(path[-1], None)
    return result


def with_unknown_fields(payload: Any, encoding: str,
                        extra_parameters: Mapping[str, str] | None = None) -> Any:
    """Extra fields at the top and in every nested object, as a platform may add later;
    for form providers, also the parameters the manifest says the platform adds."""
    result = copy.deepcopy(payload)
    if encoding == "form":
        result["HookproofFutureParameter"] = "added-later"
        result.update(extra_parameters or {})
        return result

    def add(node: Any, depth: int) -> None:
        if isinstance(node, dict):
            for value in list(node.values()):
                add(value, depth + 1)
            node["hookproof_future_field"] = {"added": "later"} if depth == 0 else "later"
        elif isinstance(node, list):
            for item in node:
                add(item, depth + 1)

    add(result, 0)
    return result


def reserialized(payload: Any) -> bytes:
    """Equivalent JSON in other bytes: keys reversed, indented, ``\\u`` escapes, CRLF end."""

    def reverse(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: reverse(node[k]) for k in reversed(list(node))}
        if isinstance(node, list):
            return [reverse(v) for v in node]
        return node

    text = json.dumps(reverse(payload), indent=3, ensure_ascii=True)
    return (text.replace("\n", "\r\n") + "\r\n").encode("ascii")


TRICKY_TEXT = "  Hello w\u00f6rld + caf\u00e9 & 100% = \U0001f600 "
"""A value with leading/trailing spaces, ``+``, ``&``, ``%``, ``=``, non-ASCII and non-BMP."""
TRICKY_JSON_TEXT = '{ "note" : "v\u00e4lue + \u2713" }'
