"""``hookproof import openapi FILE -o DIR``: an OpenAPI 3.1 document's ``webhooks`` as a
provider of your own (a manifest and one JSON Schema per event), ready for ``--contracts``.

Each webhook's ``post`` operation becomes an event: its JSON request body schema is written
to ``events/<name>.json`` (``#/components/schemas/...`` references rewritten to the
provider's ``defs.json``), with the operation's examples (inline ``value``s, ``$ref``s to
``#/components/examples``, ``example``, and the schema's own) as the schema's ``examples``,
which the suite sends; an event without any gets one derived from its schema at run time.
The signing scheme is not in the OpenAPI document: a preset (``--preset github``, or a
preset file of your own) or the command line gives it.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hookproof import safejson
from hookproof.catalogue import NoAliasLoader
from hookproof.errors import InputError, UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PRESET_KEYS = frozenset({"title", "signature", "dedupe_header", "replay_window",
                         "timeout_budget", "transport_headers", "event_name", "event_names"})


@dataclass(frozen=True)
class ImportOptions:
    source: Path
    output: Path
    scheme: str | None = None
    provider_id: str | None = None
    header: str | None = None
    format: str | None = None
    template: str | None = None
    algorithm: str | None = None
    encoding: str | None = None
    timestamp_header: str | None = None
    id_header: str | None = None
    header_prefix: str | None = None
    dedupe_header: str | None = None
    event_field: str | None = None
    budget: float | None = None
    replay_window: int | None = 300
    preset: str | None = None
    force: bool = False


@dataclass
class EventReport:
    """What the import found for one event."""

    name: str
    webhook: str
    examples: int
    formats: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        found = (f"{self.examples} documented example(s)" if self.examples
                 else "no example: one is derived from the schema")
        return f"  {self.name}: {found}"


@dataclass
class ImportReport:
    events: list[EventReport]
    unknown_formats: dict[str, int]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.events]


def preset_names() -> list[str]:
    folder = resources.files("hookproof.catalogue") / "presets"
    return sorted(f.name.removesuffix(".yaml") for f in folder.iterdir()
                  if f.name.endswith(".yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """A bundled preset by name, or a preset file (YAML with the keys of :data:`PRESET_KEYS`)."""
    path = Path(name)
    if name in preset_names():
        text = (resources.files("hookproof.catalogue") / "presets" / f"{name}.yaml").read_text(
            encoding="utf-8")
    elif path.suffix in (".yaml", ".yml") and path.is_file():
        text = path.read_text(encoding="utf-8")
    else:
        raise UsageError(f"--preset {name}: not a preset ({', '.join(preset_names())}) nor a "
                         "preset file (.yaml)")
    try:
        data = yaml.load(text, Loader=NoAliasLoader)
    except yaml.YAMLError as exc:
        raise UsageError(f"--preset {name}: not YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or not set(data) <= PRESET_KEYS:
        unknown = sorted(set(data) - PRESET_KEYS) if isinstance(data, dict) else []
        raise UsageError(f"--preset {name}: a mapping of {', '.join(sorted(PRESET_KEYS))}"
                         + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return data


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
    """``#/components/schemas/X`` -> ``../defs.json#/$defs/X`` (the schema's new home); and
    OpenAPI 3.0's "nullable reference" as 3.1 converters leave it (``allOf: [X]`` beside
    ``type: [null]``, which no value satisfies) read as meant: X or null."""
    if isinstance(node, dict):
        out = _nullable({k: _rewrite(v) for k, v in node.items()})
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out["$ref"] = "../defs.json#/$defs/" + ref.removeprefix("#/components/schemas/")
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    if "allOf" in node and node.get("type") in ("null", ["null"]):
        rest = {k: v for k, v in node.items() if k not in ("allOf", "type")}
        return {**rest, "anyOf": [{"allOf": node["allOf"]}, {"type": "null"}]}
    return node


def _nullables(node: Any) -> Any:
    if isinstance(node, dict):
        return _nullable({k: _nullables(v) for k, v in node.items()})
    if isinstance(node, list):
        return [_nullables(v) for v in node]
    return node


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    """The node a local ``$ref`` (``#/components/...``) points at, or None."""
    if not ref.startswith("#/"):
        return None
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _resolved(document: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < 16:
        node, depth = _pointer(document, node["$ref"]), depth + 1
    return node


def _examples(document: Mapping[str, Any], body: Mapping[str, Any]) -> list[Any]:
    """Every example the operation's JSON body gives: ``example``, the ``examples`` map
    (inline ``value`` or ``$ref`` to ``#/components/examples``), then the schema's."""
    found: list[Any] = []
    if "example" in body:
        found.append(body["example"])
    for entry in (body.get("examples") or {}).values():
        entry = _resolved(document, entry)
        if isinstance(entry, Mapping) and "value" in entry:
            found.append(entry["value"])
    schema = _resolved(document, body.get("schema"))
    if isinstance(schema, Mapping):
        if isinstance(schema.get("examples"), list):
            found.extend(schema["examples"])
        if "example" in schema:
            found.append(schema["example"])
    unique: list[Any] = []
    for value in found:
        if value not in unique:
            unique.append(value)
    return unique


def _event_name(webhook: str, operation: Mapping[str, Any], document: Mapping[str, Any],
                naming: str) -> str:
    """The event's name: the webhook's key, or (``operation-id``, GitHub's) the operationId's
    category and the body's action: ``pull-request/opened`` -> ``pull_request.opened``."""
    if naming == "webhook-key":
        return webhook
    operation_id = str(operation.get("operationId") or webhook)
    category, _, action = operation_id.partition("/")
    category = category.replace("-", "_")
    schema = _resolved(document, (((operation.get("requestBody") or {}).get("content") or {})
                                  .get("application/json") or {}).get("schema"))
    declared = _resolved(document, ((schema or {}).get("properties") or {}).get("action")) \
        if isinstance(schema, Mapping) else None
    if isinstance(declared, Mapping):
        values = declared.get("enum") or ([declared["const"]] if "const" in declared else [])
        if len(values) == 1 and isinstance(values[0], str):
            return f"{category}.{values[0]}"
    return f"{category}.{action.replace('-', '_')}" if action else category


def _settings(options: ImportOptions) -> dict[str, Any]:
    """The provider's settings: the preset's, then the command line's over them."""
    preset = load_preset(options.preset) if options.preset else {}
    signature: dict[str, Any] = dict(preset.get("signature") or {})
    scheme = options.scheme or signature.get("scheme") or "standard-webhooks"
    if options.scheme and options.scheme != signature.get("scheme"):
        signature = {}
    signature["scheme"] = scheme
    if scheme not in ("standard-webhooks", "hmac"):
        raise UsageError(f"--scheme {scheme}: standard-webhooks or hmac")
    for key in ("header", "format", "template", "algorithm", "encoding", "timestamp_header",
                "id_header", "header_prefix"):
        value = getattr(options, key)
        if value:
            signature[key] = value
    if scheme == "hmac" and not signature.get("header"):
        raise UsageError("--scheme hmac needs --header (the signature header's name)")
    default_dedupe = (f"{signature.get('header_prefix') or 'webhook'}-id"
                      if scheme == "standard-webhooks" else None)
    dedupe = options.dedupe_header or preset.get("dedupe_header") or default_dedupe
    if not dedupe:
        raise UsageError("--dedupe-header: the header whose value stays the same on retries "
                         "(e.g. X-GitHub-Delivery)")
    event_name = dict(preset.get("event_name") or {"fields": ["type"]})
    if options.event_field:
        event_name["fields"] = [options.event_field]
    naming = str(preset.get("event_names", "webhook-key"))
    if naming not in ("webhook-key", "operation-id"):
        raise UsageError(f"--preset {options.preset}: event_names {naming!r}: webhook-key or "
                         "operation-id")
    return {"title": preset.get("title"), "signature": signature, "dedupe_header": dedupe,
            "replay_window": preset.get("replay_window", "default"),
            "timeout_budget": options.budget or float(preset.get("timeout_budget") or 15),
            "headers": dict(preset.get("transport_headers") or {}),
            "event_name": event_name, "naming": naming}


def import_openapi(options: ImportOptions) -> ImportReport:
    """Write the provider; what was found per event."""
    document = _document(options.source)
    provider_id = options.provider_id or options.output.name
    if not _NAME.match(provider_id):
        raise UsageError(f"provider id {provider_id!r}: letters, digits, '.', '_' and '-'")
    if options.output.exists() and not options.output.is_dir():
        raise UsageError(f"-o {options.output}: not a directory")
    if options.output.is_dir() and any(options.output.iterdir()) and not options.force:
        raise UsageError(f"-o {options.output}: the folder is not empty; give --force to "
                         "replace it (everything in it)")
    settings = _settings(options)
    signature = settings["signature"]
    events: list[dict[str, Any]] = []
    schemas: dict[str, Any] = {}
    reports: list[EventReport] = []
    for webhook, item in document["webhooks"].items():
        operation = item.get("post") if isinstance(item, Mapping) else None
        content = ((operation or {}).get("requestBody") or {}).get("content") or {}
        body = content.get("application/json") if isinstance(content, Mapping) else None
        if not isinstance(body, Mapping) or not isinstance(body.get("schema"), Mapping):
            raise InputError(f"{options.source}: webhook {webhook!r} has no post with a JSON "
                             "request body schema")
        assert isinstance(operation, Mapping)
        name = _event_name(str(webhook), operation, document, settings["naming"])
        if not _NAME.match(name):
            raise InputError(f"{options.source}: webhook {webhook!r} (event {name!r}) cannot "
                             "be a file name")
        if any(e["name"] == name for e in events):
            raise InputError(f"{options.source}: webhooks {webhook!r} and another are both "
                             f"named {name!r}")
        schema = _rewrite(dict(body["schema"]))
        examples = _examples(document, body)
        if examples:
            schema["examples"] = examples
        schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
        schema.setdefault("title", str(webhook))
        described = operation.get("description") or operation.get("summary")
        if described:
            schema.setdefault("description", str(described))
        schemas[f"events/{name}.json"] = schema
        events.append({"name": name, "kind": "post", "request": f"events/{name}.json"})
        reports.append(EventReport(name, str(webhook), len(examples)))
    components = ((document.get("components") or {}).get("schemas") or {})
    window = settings["replay_window"]
    if window == "default":
        window = ({"seconds": options.replay_window, "stale": "required",
                   "future": "recommended"}
                  if options.replay_window and _timestamped(signature) else None)
    manifest: dict[str, Any] = {
        "id": provider_id,
        "title": str(settings["title"] or (document.get("info") or {}).get("title")
                     or provider_id),
        "transport": {"encoding": "json", "methods": ["POST"],
                      "content_type": "application/json",
                      **({"headers": settings["headers"]} if settings["headers"] else {})},
        "signature": signature,
        "dedupe_header": settings["dedupe_header"],
        "replay_window": window,
        "timeout_budget": settings["timeout_budget"],
        "event_name": settings["event_name"],
        "events": events,
    }
    from hookproof.catalogue.formats import KEYWORD_FORMATS, unknown_formats

    unknown: dict[str, int] = {}
    for name in unknown_formats([schemas, components], KEYWORD_FORMATS):
        unknown[name] = unknown.get(name, 0) + 1
    _write(options.output, provider_id, options.source.name, manifest, schemas,
           dict(components))
    return ImportReport(reports, unknown)


def _write(output: Path, provider_id: str, source: str, manifest: dict[str, Any],
           schemas: dict[str, Any], components: dict[str, Any]) -> None:
    """Write the provider into a fresh folder beside ``output``, then put it in its place, so
    that nothing of what was there before is left mixed in (and a failed write leaves the
    old folder whole)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{provider_id}-", dir=output.parent))
    try:
        (staging / "events").mkdir()
        (staging / "manifest.yaml").write_text(
            f"# imported from {source} by hookproof import openapi\n"
            + yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        for relative, schema in schemas.items():
            (staging / relative).write_text(json.dumps(schema, indent=2) + "\n",
                                            encoding="utf-8")
        if components:
            defs = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$defs": _rewrite_defs(components)}
            (staging / "defs.json").write_text(json.dumps(defs, indent=2) + "\n",
                                               encoding="utf-8")
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _rewrite_defs(components: dict[str, Any]) -> dict[str, Any]:
    # inside defs.json, a component refers to its siblings in the same file
    text = json.dumps(components).replace('"#/components/schemas/', '"#/$defs/')
    loaded: dict[str, Any] = _nullables(json.loads(text))
    return loaded


def _timestamped(signature: Mapping[str, Any]) -> bool:
    """Whether the scheme signs a timestamp (then the provider has a replay window)."""
    from hookproof.signing import scheme_for

    try:
        return scheme_for(signature, encoding="json").capabilities.timestamped
    except ValueError as exc:
        raise UsageError(f"--scheme {signature.get('scheme')}: {exc}") from None
