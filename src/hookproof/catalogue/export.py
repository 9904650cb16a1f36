"""``hookproof export openapi``: a provider's contracts as one self-contained OpenAPI 3.1 document.

* ``webhooks`` describes every event as the platform sends it: the request body (the event's
  contract; form providers as ``application/x-www-form-urlencoded``), the headers it carries
  (signature, timestamp, dedupe key, event name, constant headers), and the answer it expects
  (200 with the response contract for response-bearing hooks, 4XX where a hook may refuse).
* ``paths`` holds the same operations once more, one ``POST /<event>`` each, so that an API
  tester (schemathesis) can load the document and generate requests per event. The URL the
  platform really calls is in ``x-hookproof-path`` (relative to the receiver's URL).

Every schema of the contracts the provider uses is inlined into ``components/schemas``: a file's
root becomes ``<provider>.events.<event>``-style names, each ``$defs`` entry
``<file>.<Name>``, and every ``$ref`` points inside the document (no ``hookproof.invalid`` URI
is left).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

from hookproof import __version__
from hookproof.catalogue import BASE_URI, Catalogue, Event, Provider, load_catalogue
from hookproof.signing import scheme_for

OPENAPI_VERSION = "3.1.0"
COMPONENT_PREFIX = "#/components/schemas/"
_DROP = ("$schema", "$id", "$defs")


def component_name(uri: str, definition: str | None = None) -> str:
    """``.../contracts/varda/defs.json`` + ``Contact`` -> ``varda.defs.Contact``."""
    relative = uri.removeprefix(BASE_URI).removesuffix(".json").replace("/", ".")
    return f"{relative}.{definition}" if definition else relative


def refs_in(node: Any) -> Iterator[str]:
    """Every ``$ref`` value anywhere in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def _target(base: str, ref: str) -> tuple[str, str]:
    """(file URI, fragment) a ``$ref`` written in the file ``base`` points at."""
    uri, fragment = urldefrag(urljoin(base, ref))
    return uri, fragment


def _rewrite(node: Any, base: str) -> Any:
    """A copy of ``node`` whose ``$ref`` s point into ``#/components/schemas``."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _local_ref(base, value)
            elif key in ("$schema", "$id"):
                continue
            else:
                out[key] = _rewrite(value, base)
        return out
    if isinstance(node, list):
        return [_rewrite(item, base) for item in node]
    return node


def _local_ref(base: str, ref: str) -> str:
    uri, fragment = _target(base, ref)
    if not fragment or fragment == "/":
        return COMPONENT_PREFIX + component_name(uri)
    parts = fragment.lstrip("/").split("/")
    if len(parts) >= 2 and parts[0] == "$defs":
        rest = "/".join(parts[2:])
        return COMPONENT_PREFIX + component_name(uri, parts[1]) + (f"/{rest}" if rest else "")
    return COMPONENT_PREFIX + component_name(uri) + fragment


def inline_schemas(catalogue: Catalogue, roots: list[str]) -> dict[str, Any]:
    """Every schema reachable from ``roots`` (file URIs), as named OpenAPI components."""
    components: dict[str, Any] = {}
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        uri = pending.pop()
        if uri in seen:
            continue
        seen.add(uri)
        schema = catalogue.schema(uri)
        for ref in refs_in(schema):
            target, _ = _target(uri, ref)
            if target not in seen:
                pending.append(target)
        root = {k: v for k, v in schema.items() if k not in _DROP}
        if set(root) - {"title", "description", "x-docs", "$comment"} or uri in roots:
            components[component_name(uri)] = _rewrite(root, uri)
        for name, definition in (schema.get("$defs") or {}).items():
            components[component_name(uri, name)] = _rewrite(definition, uri)
    return dict(sorted(components.items()))


def _header(name: str, description: str, *, required: bool = True,
            schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def parameters(provider: Provider, event: Event) -> list[dict[str, Any]]:
    """The header (and query) parameters a delivery of ``event`` carries."""
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    params = [_header(scheme.header, f"{scheme.name} signature of the delivery "
                      "(verify it over the raw body before anything else)")]
    timestamp = getattr(scheme, "timestamp_header", None)
    if timestamp:
        params.append(_header(timestamp, "Unix time of signing, in seconds (signed)",
                              schema={"type": "string", "pattern": "^[0-9]+$"}))
    message_id = getattr(scheme, "id_header", None)
    if message_id and message_id.lower() != provider.dedupe_header.lower():
        params.append(_header(message_id, "Message id (signed)"))
    params.append(_header(provider.dedupe_header, "Dedupe key: the same for every retry of "
                          "one delivery; process a delivery once per key"))
    if provider.event_header:
        params.append(_header(provider.event_header, "The event name (repeats the body's)",
                              schema={"type": "string", "examples": [event.name]}))
    taken = {p["name"].lower() for p in params} | {"content-type", "accept", "authorization"}
    for name, value in provider.transport.headers.items():
        if name.lower() not in taken:
            params.append(_header(name, "Sent with every delivery", required=False,
                                  schema={"type": "string", "examples": [value]}))
    if getattr(scheme, "body_hash", False):
        params.append({"name": "bodySHA256", "in": "query", "required": True,
                       "description": "SHA-256 (hex) of the raw body, covered by the signature",
                       "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}})
    return params


def media_type(provider: Provider) -> str:
    return ("application/x-www-form-urlencoded" if provider.transport.encoding == "form"
            else "application/json")


def responses(provider: Provider, event: Event) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if event.response is not None:
        note = " An empty body counts as {}." if event.empty_response_ok else ""
        answers["200"] = {
            "description": f"The hook's answer; the platform acts on it.{note}",
            "content": {"application/json": {
                "schema": {"$ref": COMPONENT_PREFIX + component_name(event.response)}}},
        }
    else:
        answers["200"] = {"description": "Acknowledged (any 2xx; the body is ignored)."}
    if event.rejectable:
        answers["4XX"] = {"description": "The hook refuses the action or operation "
                          "(a legitimate answer to this event)."}
    return answers


def operation(provider: Provider, event: Event, catalogue: Catalogue,
              operation_id: str) -> dict[str, Any]:
    schema = catalogue.schema(event.request)
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": str(schema.get("title") or event.name),
        "description": str(schema.get("description") or ""),
        "tags": [event.group or provider.id],
        "parameters": parameters(provider, event),
        "requestBody": {
            "required": True,
            "content": {media_type(provider): {
                "schema": {"$ref": COMPONENT_PREFIX + component_name(event.request)}}},
        },
        "responses": responses(provider, event),
        "x-hookproof-event": event.name,
        "x-hookproof-kind": event.kind,
        "x-hookproof-budget-seconds": event.budget,
    }
    if event.docs:
        op["externalDocs"] = {"url": event.docs[0]}
    return op


def hook_path(provider: Provider, event: Event) -> str:
    """Where the platform sends ``event``, relative to the receiver's URL ("/" for the URL)."""
    path = provider.hook_groups.get(event.group or "", "").strip("/")
    return f"/{path}" if path else "/"


def event_path(event: Event) -> str:
    """The ``paths`` key of ``event`` (one operation per event)."""
    return f"/{event.name}"


def close_objects(node: Any, *, branch: bool = False) -> Any:
    """A copy of ``node`` where every documented object (``properties``, no ``additional…``)
    gets ``additionalProperties: false``; objects that take part in ``if``/``then``/``else``
    or a combinator are left open (a branch may name members the object itself does not)."""
    if isinstance(node, list):
        return [close_objects(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("then", "else"):
            out[key] = close_objects(value, branch=True)
        elif key in ("if", "not", "const", "enum", "examples", "default"):
            out[key] = value
        else:
            out[key] = close_objects(value)
    combined = any(k in node for k in ("if", "then", "else", "allOf", "anyOf", "oneOf"))
    if ("properties" in node and not branch and not combined
            and "additionalProperties" not in node and "unevaluatedProperties" not in node):
        out["additionalProperties"] = False
    return out


def sender_view(node: Any, *, form: bool) -> Any:
    """A copy of ``node`` describing what the platform *sends*, not all a receiver must take.

    A contract is the receiver's view: it accepts what real traffic has shown, ``""`` for an
    optional form parameter included. Payloads generated to be accepted must be ones the
    platform could send, so here a node's ``x-sender`` subschema is merged into it and, for
    form providers (Twilio omits a parameter it has no value for, it never sends ``Media=``),
    every string is non-empty.
    """
    if isinstance(node, list):
        return [sender_view(item, form=form) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: value if key in ("const", "enum", "examples", "default")
           else sender_view(value, form=form) for key, value in node.items()}
    out.update(out.pop("x-sender", None) or {})
    types = out.get("type")
    is_string = types == "string" or (isinstance(types, list) and "string" in types)
    if form and is_string and not any(k in out for k in ("enum", "const", "minLength")):
        out["minLength"] = 1
        if out.get("if") == {"minLength": 1} and isinstance(out.get("then"), dict):
            # "when not empty, then ...": never empty, so always the then-branch
            del out["if"]
            out.update(out.pop("then"))
    return out


def export_openapi(provider_id: str, catalogue: Catalogue | None = None, *,
                   closed: bool = False, sender: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of one provider's webhooks (see the module docstring).

    ``closed``: documented objects get ``additionalProperties: false``, so that a generator
    (the fuzz checks) spends its budget on documented fields rather than unknown ones.
    ``sender``: request bodies describe what the platform sends (:func:`sender_view`).
    """
    catalogue = catalogue or load_catalogue()
    provider = catalogue.provider(provider_id)
    roots = [e.request for e in provider.events] + [
        u for e in provider.events if (u := e.response)]
    schemas = copy.deepcopy(inline_schemas(catalogue, roots))
    if sender:
        schemas = sender_view(schemas, form=provider.transport.encoding == "form")
    webhooks: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for event in provider.events:
        webhooks[event.name] = {"post": operation(provider, event, catalogue,
                                                  f"webhook.{event.name}")}
        op = operation(provider, event, catalogue, event.name)
        paths[event_path(event)] = {"post": op, "x-hookproof-path": hook_path(provider, event)}
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": f"{provider.title} webhooks",
            "version": __version__,
            "description": f"Every webhook {provider.title} sends, as described by the "
            f"hookproof contracts (provider id {provider.id}). `webhooks` is what the "
            "platform sends; `paths` holds the same operations, one POST per event, for "
            "API testers; the platform's real URL of each is `x-hookproof-path`.",
        },
        "externalDocs": {"url": provider.docs[0]} if provider.docs else {
            "url": "https://github.com/"},
        "servers": [{"url": "{receiver}", "description": "your receiver's URL",
                     "variables": {"receiver": {"default": "http://127.0.0.1:8000"}}}],
        "paths": paths,
        "webhooks": webhooks,
        "components": {"schemas": close_objects(schemas) if closed else schemas},
        "x-hookproof": {
            "provider": provider.id,
            "encoding": provider.transport.encoding,
            "methods": list(provider.transport.methods),
            "content_type": provider.transport.content_type,
            "signature": dict(provider.signature),
            "dedupe_header": provider.dedupe_header,
            "event_fields": list(provider.event_fields),
        },
    }


__all__ = ["component_name", "event_path", "export_openapi", "hook_path"]
