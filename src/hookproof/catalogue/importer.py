"""``hookproof import openapi FILE -o DIR``: an OpenAPI 3.1 document's ``webhooks`` as a
provider of your own (a manifest and one JSON Schema per event), ready for ``--contracts``.

Each webhook's ``post`` operation becomes an event: its JSON request body schema is written
to ``events/<name>.json`` (``#/components/schemas/...`` references rewritten to the
provider's ``defs.json``), with the operation's examples as the schema's ``examples``, which
the suite sends. The signing scheme is not in the OpenAPI document: it is given on the
command line (``standard-webhooks``, or ``hmac`` with its header, format and template).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hookproof import safejson
from hookproof.catalogue import NoAliasLoader
from hookproof.errors import InputError, UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ImportOptions:
    source: Path
    output: Path
    scheme: str = "standard-webhooks"
    provider_id: str | None = None
    header: str | None = None
    format: str | None = None
    template: str | None = None
    algorithm: str | None = None
    encoding: str | None = None
    timestamp_header: str | None = None
    id_header: str | None = None
    dedupe_header: str | None = None
    event_field: str = "type"
    budget: float = 15.0
    replay_window: int | None = 300


def _document(path: Path) -> Mapping[str, Any]:
    raw = safejson.read_file(path, "")
    text = raw.decode("utf-8", "replace")
    try:
        document = (safejson.loads(raw, what="the document") if text.lstrip().startswith("{")
                    else yaml.load(text, Loader=NoAliasLoader))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not JSON or YAML ({' '.join(str(exc).split())})") from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    if not isinstance(document, Mapping) or not str(document.get("openapi", "")).startswith(
            "3.1"):
        raise InputError(f"{path}: not an OpenAPI 3.1 document (no openapi: 3.1.x)")
    if not isinstance(document.get("webhooks"), Mapping) or not document["webhooks"]:
        raise InputError(f"{path}: the document has no webhooks")
    return document


def _rewrite(node: Any) -> Any:
    """``#/components/schemas/X`` -> ``../defs.json#/$defs/X`` (the schema's new home)."""
    if isinstance(node, dict):
        out = {k: _rewrite(v) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out["$ref"] = "../defs.json#/$defs/" + ref.removeprefix("#/components/schemas/")
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _signature(options: ImportOptions) -> dict[str, Any]:
    if options.scheme == "standard-webhooks":
        return {"scheme": "standard-webhooks"}
    if options.scheme != "hmac":
        raise UsageError(f"--scheme {options.scheme}: standard-webhooks or hmac")
    if not options.header:
        raise UsageError("--scheme hmac needs --header (the signature header's name)")
    signature: dict[str, Any] = {"scheme": "hmac", "header": options.header}
    for key in ("format", "template", "algorithm", "encoding", "timestamp_header",
                "id_header"):
        value = getattr(options, key)
        if value:
            signature[key] = value
    return signature


def import_openapi(options: ImportOptions) -> list[str]:
    """Write the provider; the names of the events it holds."""
    document = _document(options.source)
    provider_id = options.provider_id or options.output.name
    if not _NAME.match(provider_id):
        raise UsageError(f"provider id {provider_id!r}: letters, digits, '.', '_' and '-'")
    signature = _signature(options)
    dedupe = options.dedupe_header or ("webhook-id" if options.scheme == "standard-webhooks"
                                       else None)
    if not dedupe:
        raise UsageError("--dedupe-header: the header whose value stays the same on retries "
                         "(e.g. X-GitHub-Delivery)")
    events: list[dict[str, Any]] = []
    schemas: dict[str, Any] = {}
    for name, item in document["webhooks"].items():
        operation = item.get("post") if isinstance(item, Mapping) else None
        content = ((operation or {}).get("requestBody") or {}).get("content") or {}
        body = content.get("application/json") if isinstance(content, Mapping) else None
        if not isinstance(body, Mapping) or not isinstance(body.get("schema"), Mapping):
            raise InputError(f"{options.source}: webhook {name!r} has no post with a JSON "
                             "request body schema")
        if not _NAME.match(str(name)):
            raise InputError(f"{options.source}: webhook name {name!r} cannot be a file name")
        schema = _rewrite(dict(body["schema"]))
        examples = [e["value"] for e in (body.get("examples") or {}).values()
                    if isinstance(e, Mapping) and "value" in e]
        if "example" in body:
            examples.insert(0, body["example"])
        if examples and "examples" not in schema:
            schema["examples"] = examples
        schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
        schema.setdefault("title", str(name))
        described = operation.get("description") or operation.get("summary") if isinstance(
            operation, Mapping) else None
        if described:
            schema.setdefault("description", str(described))
        schemas[f"events/{name}.json"] = schema
        events.append({"name": str(name), "kind": "post", "request": f"events/{name}.json"})
    components = ((document.get("components") or {}).get("schemas") or {})
    manifest: dict[str, Any] = {
        "id": provider_id,
        "title": str((document.get("info") or {}).get("title") or provider_id),
        "transport": {"encoding": "json", "methods": ["POST"],
                      "content_type": "application/json"},
        "signature": signature,
        "dedupe_header": dedupe,
        "replay_window": ({"seconds": options.replay_window, "stale": "required",
                           "future": "recommended"}
                          if options.replay_window and _timestamped(signature) else None),
        "timeout_budget": options.budget,
        "event_name": {"fields": [options.event_field]},
        "events": events,
    }
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / "events").mkdir(exist_ok=True)
    (options.output / "manifest.yaml").write_text(
        f"# imported from {options.source.name} by hookproof import openapi\n"
        + yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    for relative, schema in schemas.items():
        (options.output / relative).write_text(json.dumps(schema, indent=2) + "\n",
                                               encoding="utf-8")
    if components:
        defs = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "$defs": _rewrite_defs(dict(components))}
        (options.output / "defs.json").write_text(json.dumps(defs, indent=2) + "\n",
                                                  encoding="utf-8")
    return [e["name"] for e in events]


def _rewrite_defs(components: dict[str, Any]) -> dict[str, Any]:
    # inside defs.json, a component refers to its siblings in the same file
    text = json.dumps(components).replace('"#/components/schemas/', '"#/$defs/')
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _timestamped(signature: Mapping[str, Any]) -> bool:
    """Whether the scheme signs a timestamp (then the provider has a replay window)."""
    from hookproof.signing import scheme_for

    try:
        return scheme_for(signature, encoding="json").capabilities.timestamped
    except ValueError as exc:
        raise UsageError(f"--scheme {signature.get('scheme')}: {exc}") from None
