"""The bundled contracts: provider manifests and JSON Schemas, loaded from package data.

Every schema file is registered under its ``$id`` in one :class:`referencing.Registry`;
references are resolved from that registry only, never from the network.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import referencing
import referencing.exceptions
import yaml
from referencing.jsonschema import DRAFT202012

from hookproof.errors import CatalogueError, UnknownEventError, UnknownProviderError

SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (about ten times faster), for the bundled
manifests and example tables; a user's own YAML goes through the alias-refusing loader."""

BASE_URI = "https://hookproof.invalid/contracts/"

EventKind = Literal["pre", "post", "callback"]
NamingRule = Literal["body", "header", "header+body"]
"""Where a delivery names its event: ``body`` (a body field; an ``event_name.header`` repeats
it), ``header`` (the header alone), ``header+body`` (GitHub: ``X-GitHub-Event: pull_request``
and ``"action": "opened"`` make ``pull_request.opened``; ``push`` has no action)."""
Severity = Literal["required", "recommended"]


@dataclass(frozen=True)
class Transport:
    encoding: Literal["json", "form"]
    methods: tuple[str, ...]
    content_type: str
    headers: Mapping[str, str]

    @property
    def default_method(self) -> str:
        return self.methods[0]


@dataclass(frozen=True)
class ReplayWindow:
    seconds: int
    stale: Severity
    future: Severity


@dataclass(frozen=True)
class Event:
    provider: str
    name: str
    kind: EventKind
    request: str
    """URI of the request schema."""
    response: str | None
    """URI of the response contract, for response-bearing hooks."""
    budget: float
    docs: tuple[str, ...]
    group: str | None = None
    rejectable: bool = False
    """A 4xx is a legitimate answer (a pre-event hook or a callback may refuse)."""
    empty_response_ok: bool = False
    """An empty 200 body counts as ``{}`` (Twilio pre-events)."""
    header_value: str | None = None
    """The event-name header's value for this event (header naming rules), where it is not
    the part of the name before the first ``.``."""


@dataclass(frozen=True)
class Resource:
    name: str
    schema: str
    docs: tuple[str, ...]


@dataclass(frozen=True)
class Provider:
    id: str
    title: str
    docs: tuple[str, ...]
    transport: Transport
    signature: Mapping[str, Any]
    dedupe_header: str
    replay_window: ReplayWindow | None
    timeout_budget: float
    event_fields: tuple[str, ...]
    """Where the platform puts the event name in a payload (dotted paths), first match wins."""
    event_header: str | None
    naming: NamingRule
    """How ``event_header`` and ``event_fields`` make the event's name (see NamingRule)."""
    hook_groups: Mapping[str, str]
    """Hook group name -> default path relative to the target URL."""
    events: tuple[Event, ...]
    resources: tuple[Resource, ...] = ()
    unknown_event: str | None = None
    """A plausible event the platform does not send (yet), in its own naming (manifest)."""
    unknown_events: Mapping[str, str] = field(default_factory=dict)
    """Hook group -> its own such event (Frontline's callbacks name events by Location)."""
    extra_parameters: Mapping[str, str] = field(default_factory=dict)
    """Parameters the platform adds that no event documents (form providers)."""
    formats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Formats of the provider's own: name -> the JSON Schema keywords a value must meet."""
    _by_name: Mapping[str, Event] = field(default_factory=dict, repr=False, compare=False)

    def event(self, name: str) -> Event:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownEventError(self.id, name, [e.name for e in self.events]) from None

    def has_event(self, name: str) -> bool:
        return name in self._by_name

    def resource(self, name: str) -> Resource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise UnknownEventError(self.id, name, [r.name for r in self.resources])

    def event_name_of(self, payload: object,
                      headers: Mapping[str, str] | None = None) -> str | None:
        """The event name the platform wrote into a delivery (``payload`` and, for the header
        naming rules, ``headers``), or None. Without headers, a header rule names nothing."""
        field_value = self._field_value(payload)
        if self.naming == "body":
            return field_value
        category = _lookup(headers, self.event_header) if self.event_header else None
        if not category:
            return None
        if self.naming == "header" or field_value is None:
            return category
        combined = f"{category}.{field_value}"
        if self.has_event(combined) or not self.has_event(category):
            return combined
        return category

    def _field_value(self, payload: object) -> str | None:
        if not isinstance(payload, Mapping):
            return None
        for dotted in self.event_fields:
            value: object = payload
            for part in dotted.split("."):
                if not isinstance(value, Mapping) or part not in value:
                    value = None
                    break
                value = value[part]
            if isinstance(value, str):
                return value
        return None

    def naming_places(self) -> str:
        """Where a delivery names its event, for messages."""
        places = [*([f"the {self.event_header} header"] if self.header_names_event() else []),
                  *self.event_fields]
        return ", ".join(places)

    def header_names_event(self) -> bool:
        """Whether the event-name header is part of the name (not a copy of the body's)."""
        return self.naming != "body" and self.event_header is not None

    def event_header_value(self, name: str) -> str:
        """What the event-name header carries for the event called ``name`` (which may be an
        event the platform does not send yet)."""
        if self.naming == "body":
            return name
        known = self._by_name.get(name)
        if known is not None and known.header_value:
            return known.header_value
        return name.split(".", 1)[0] if self.naming == "header+body" else name

    def platform_headers(self, name: str, payload: object = None) -> dict[str, str]:
        """The headers the platform puts on every delivery of the event called ``name``
        (``payload``: its body), before the dedupe id and the signature: the transport's own
        (a ``User-Agent``) and, where a header names the event, that header."""
        headers = dict(self.transport.headers)
        if self.header_names_event() and self.event_header:
            # the header is (part of) the name: GitHub's X-GitHub-Event: pull_request
            headers[self.event_header] = self.event_header_value(name)
        elif self.event_header:  # a copy of the body's name (X-Varda-Event)
            headers[self.event_header] = self.event_name_of(payload) or name
        return headers

    def field_value_of(self, name: str) -> str | None:
        """The body field's value that (with the header) names ``name``; None where the body
        does not name it (rule ``header``, or a ``header+body`` event without a field)."""
        if self.naming == "body":
            return name
        if self.naming == "header":
            return None
        head = self.event_header_value(name)
        rest = name[len(head) + 1:] if name.startswith(head + ".") else None
        return rest or None


def _lookup(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


class Catalogue:
    """Every provider of the bundled contracts and the registry their schemas live in."""

    def __init__(self, providers: Mapping[str, Provider], schemas: Mapping[str, Any]) -> None:
        self.providers = dict(providers)
        self.schemas = dict(schemas)
        self.registry: referencing.Registry[Any] = referencing.Registry(
            retrieve=_refuse_retrieval  # type: ignore[call-arg]  # attrs init, untyped
        ).with_resources(
            (uri, DRAFT202012.create_resource(contents)) for uri, contents in self.schemas.items()
        )

    def provider(self, provider_id: str) -> Provider:
        try:
            return self.providers[provider_id]
        except KeyError:
            raise UnknownProviderError(provider_id, sorted(self.providers)) from None

    def schema(self, uri: str) -> Any:
        try:
            return self.schemas[uri]
        except KeyError:
            raise CatalogueError(f"no schema with $id {uri}") from None


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    # Contracts are package data; a reference outside the registry is a catalogue bug, and
    # resolving it over the network would make validation depend on who answers.
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


def contracts_root() -> Traversable:
    return resources.files("hookproof.contracts")


def _walk(node: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        relative = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                yield from _walk(child, relative + "/")
        else:
            yield relative, child


def _load_schemas(root: Traversable) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for relative, file in _walk(root):
        if not relative.endswith(".json") or relative.endswith("/vectors.json"):
            continue  # a provider's signing vectors are data, not a schema
        try:
            contents = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CatalogueError(f"contracts/{relative}: not JSON: {exc}") from None
        expected_id = BASE_URI + relative
        if contents.get("$id") != expected_id:
            raise CatalogueError(f"contracts/{relative}: $id must be {expected_id}")
        schemas[expected_id] = contents
    return schemas


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise CatalogueError(f"expected a string or a list of strings, got {value!r}")


def _parse_manifest(provider_dir: str, data: Mapping[str, Any],
                    where: str | None = None) -> Provider:
    where = where or f"contracts/{provider_dir}/manifest.yaml"
    if not isinstance(data, Mapping):
        raise CatalogueError(f"{where}: not a manifest (a mapping of id, title, transport...)")
    try:
        provider_id = str(data["id"])
        if provider_id != provider_dir:
            raise CatalogueError(f"{where}: id {provider_id!r} differs from its folder")
        base = f"{BASE_URI}{provider_dir}/"
        transport = data["transport"]
        budget = float(data["timeout_budget"])
        window = data.get("replay_window")
        event_name = data.get("event_name") or {}
        events = tuple(
            Event(
                provider=provider_id,
                name=str(e["name"]),
                kind=e["kind"],
                request=base + e["request"],
                response=base + e["response"] if e.get("response") else None,
                budget=float(e.get("budget", budget)),
                docs=_as_tuple(e.get("docs")),
                group=e.get("group"),
                rejectable=bool(e.get("rejectable", False)),
                empty_response_ok=bool(e.get("empty_response_ok", False)),
                header_value=str(e["header_value"]) if e.get("header_value") else None,
            )
            for e in data["events"]
        )
        for event in events:
            if event.kind not in ("pre", "post", "callback"):
                raise CatalogueError(f"{where}: event {event.name}: unknown kind {event.kind!r}")
        return Provider(
            id=provider_id,
            title=str(data["title"]),
            docs=_as_tuple(data.get("docs")),
            transport=Transport(
                encoding=transport["encoding"],
                methods=tuple(transport.get("methods") or ["POST"]),
                content_type=str(transport["content_type"]),
                headers=dict(transport.get("headers") or {}),
            ),
            signature=dict(data["signature"]),
            dedupe_header=str(data["dedupe_header"]),
            replay_window=(
                ReplayWindow(int(window["seconds"]), window["stale"], window["future"])
                if window
                else None
            ),
            timeout_budget=budget,
            event_fields=_as_tuple(event_name.get("fields")),
            event_header=event_name.get("header"),
            naming=_naming(event_name, where),
            hook_groups={
                str(name): str((spec or {}).get("default_path", ""))
                for name, spec in (data.get("hook_groups") or {}).items()
            },
            unknown_event=str(data["unknown_event"]) if data.get("unknown_event") else None,
            unknown_events={
                str(name): str(spec["unknown_event"])
                for name, spec in (data.get("hook_groups") or {}).items()
                if isinstance(spec, Mapping) and spec.get("unknown_event")
            },
            extra_parameters={str(k): str(v) for k, v in
                              (transport.get("extra_parameters") or {}).items()},
            formats=_formats(data.get("formats"), where),
            events=events,
            resources=tuple(
                Resource(str(r["name"]), base + r["schema"], _as_tuple(r.get("docs")))
                for r in data.get("resources") or ()
            ),
            _by_name={e.name: e for e in events},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"{where}: malformed manifest ({exc!r})") from None


def _naming(event_name: Mapping[str, Any], where: str) -> NamingRule:
    rule = event_name.get("rule", "body")
    if rule not in ("body", "header", "header+body"):
        raise CatalogueError(f"{where}: event_name.rule {rule!r}: body, header or header+body")
    if rule != "body" and not event_name.get("header"):
        raise CatalogueError(f"{where}: event_name.rule {rule} needs event_name.header")
    if rule == "header+body" and not event_name.get("fields"):
        raise CatalogueError(f"{where}: event_name.rule header+body needs event_name.fields")
    if rule == "body" and not event_name.get("fields") and event_name.get("header"):
        raise CatalogueError(f"{where}: event_name.header without fields names the event by "
                             "the header: say event_name.rule: header")
    named: NamingRule = rule
    return named


_FORMAT_KEYWORDS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum",
                              "exclusiveMaximum", "pattern", "minLength", "maxLength",
                              "multipleOf", "enum"})


def _formats(value: object, where: str) -> dict[str, Mapping[str, Any]]:
    """A provider's own formats: ``formats: {int64: {minimum: ..., maximum: ...}}``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CatalogueError(f"{where}: formats is a mapping of a name to JSON Schema keywords")
    out: dict[str, Mapping[str, Any]] = {}
    for name, keywords in value.items():
        if not isinstance(keywords, Mapping) or not keywords or not set(keywords) <= \
                _FORMAT_KEYWORDS:
            raise CatalogueError(
                f"{where}: formats.{name}: a mapping of {', '.join(sorted(_FORMAT_KEYWORDS))}")
        out[str(name)] = dict(keywords)
    return out


def load_catalogue_from(root: Traversable) -> Catalogue:
    """Load every provider folder (one with a ``manifest.yaml``) below ``root``."""
    schemas = _load_schemas(root)
    providers: dict[str, Provider] = {}
    for child in sorted(root.iterdir(), key=lambda c: c.name):
        manifest = child / "manifest.yaml"
        if child.is_dir() and manifest.is_file():
            data = yaml.load(manifest.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
            provider = _parse_manifest(child.name, data)
            for uri in [e.request for e in provider.events] + [
                u for e in provider.events if (u := e.response)
            ] + [r.schema for r in provider.resources]:
                if uri not in schemas:
                    raise CatalogueError(
                        f"contracts/{child.name}/manifest.yaml names {uri}, which is not on disk"
                    )
            providers[provider.id] = provider
    return Catalogue(providers, schemas)


CONTRACTS_VARIABLE = "HOOKPROOF_CONTRACTS"
"""Directories of a team's own providers (``--contracts DIR``; several joined by the path
separator): set for the whole run, so that pytest-xdist workers, ``hookproof run``'s pytest
processes and the reference receiver load the same catalogue."""

USER_EXAMPLES: dict[str, Path] = {}
"""A team's provider -> the folder of its examples (``<DIR>/<provider>/examples``)."""


def user_contract_dirs() -> tuple[Path, ...]:
    raw = os.environ.get(CONTRACTS_VARIABLE, "")
    return tuple(Path(part) for part in raw.split(os.pathsep) if part.strip())


@functools.cache
def _bundled_catalogue() -> Catalogue:
    # package data never changes under a running process: one object, whatever the variable
    # says later, so engines and examples cached against it stay valid
    return load_catalogue_from(contracts_root())


@functools.cache
def load_catalogue() -> Catalogue:
    """The bundled catalogue, with a team's own providers from ``$HOOKPROOF_CONTRACTS``
    (loaded once per process)."""
    catalogue = _bundled_catalogue()
    for directory in user_contract_dirs():
        catalogue = with_user_providers(catalogue, directory)
    return catalogue


def use_contract_dirs(directories: Iterable[Path], *, keep_inherited: bool = False) -> Catalogue:
    """Load a team's own providers from ``directories`` here and in every process started from
    here (pytest-xdist workers, ``hookproof run``'s pytest processes, a served receiver read the
    same variable); ``keep_inherited`` adds them to those the variable already names. A broken
    provider raises :class:`CatalogueError` naming its file and line."""
    resolved = [str(Path(d).resolve()) for d in directories]
    kept = [str(d) for d in user_contract_dirs()] if keep_inherited else []
    os.environ[CONTRACTS_VARIABLE] = os.pathsep.join(
        [*kept, *(d for d in resolved if d not in kept)])
    load_catalogue.cache_clear()
    return load_catalogue()


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def with_user_providers(catalogue: Catalogue, directory: Path) -> Catalogue:
    """``catalogue`` and every provider folder of ``directory`` (one holding a
    ``manifest.yaml``), checked as the bundled ones are: errors name the file and line."""
    if not directory.is_dir():
        raise CatalogueError(f"--contracts {directory}: not a directory")
    folders = [c for c in sorted(directory.iterdir()) if (c / "manifest.yaml").is_file()]
    if (directory / "manifest.yaml").is_file():
        folders = [directory]
    if not folders:
        raise CatalogueError(f"--contracts {directory}: no provider folder (one with a "
                             "manifest.yaml) in it")
    providers = dict(catalogue.providers)
    schemas = dict(catalogue.schemas)
    for folder in folders:
        manifest_file = folder / "manifest.yaml"
        text = _read_contract_file(manifest_file)
        try:
            data = yaml.load(text, Loader=NoAliasLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise CatalogueError(f"{manifest_file}:{line}: not YAML "
                                 f"({' '.join(str(exc.problem or exc).split())})") from None
        except yaml.YAMLError as exc:
            raise CatalogueError(f"{manifest_file}: not YAML ({exc})") from None
        provider_id = str((data or {}).get("id", "")) if isinstance(data, Mapping) else ""
        if provider_id != folder.name:
            raise CatalogueError(f"{manifest_file}:{_line_of(text, 'id:')}: id "
                                 f"{provider_id!r} must be the folder's name {folder.name!r}")
        if provider_id in providers:
            raise CatalogueError(f"{manifest_file}:{_line_of(text, 'id:')}: provider "
                                 f"{provider_id!r} exists already (pick another id)")
        own = _user_schemas(folder, provider_id)
        provider = _parse_manifest(provider_id, data, where=str(manifest_file))
        try:
            from hookproof.signing import scheme_for

            scheme_for(provider.signature, encoding=provider.transport.encoding)
        except ValueError as exc:
            raise CatalogueError(f"{manifest_file}:{_line_of(text, 'signature:')}: "
                                 f"{exc}") from None
        for uri in [e.request for e in provider.events] + [
                u for e in provider.events if (u := e.response)]:
            if uri not in own:
                relative = uri.removeprefix(f"{BASE_URI}{provider_id}/")
                raise CatalogueError(f"{manifest_file}:{_line_of(text, relative)}: names "
                                     f"{relative}, which is not in {folder}")
        providers[provider_id] = provider
        schemas.update(own)
        if (folder / "examples").is_dir():
            USER_EXAMPLES[provider_id] = folder / "examples"
    combined = Catalogue(providers, schemas)
    for uri, file in _USER_FILES.items():
        if uri in schemas and any(uri.startswith(f"{BASE_URI}{f.name}/") for f in folders):
            _check_refs(combined, uri, file)
    return combined


_USER_FILES: dict[str, Path] = {}
"""A team's schema URI -> its file (for messages)."""


MAX_CONTRACT_FILE = 32 * 1024 * 1024
"""Bytes of one file of a team's provider (a manifest or a schema): GitHub's whole webhooks
description is under 5 MB; a larger file is refused before it is read."""


def _read_contract_file(file: Path) -> str:
    size = file.stat().st_size
    if not file.is_file():
        raise CatalogueError(f"{file}: not a regular file")
    if size > MAX_CONTRACT_FILE:
        raise CatalogueError(f"{file}: {size:,} bytes, over the {MAX_CONTRACT_FILE:,} a "
                             "contract file may have")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{file}: not UTF-8 text ({exc.reason})") from None


def _user_schemas(folder: Path, provider_id: str) -> dict[str, Any]:
    """The JSON Schemas of a team's provider; each gets its ``$id`` from its place."""
    found: dict[str, Any] = {}
    for file in sorted(folder.rglob("*.json")):
        relative = file.relative_to(folder).as_posix()
        if relative.startswith("examples/") or relative == "vectors.json":
            continue
        text = _read_contract_file(file)
        try:
            contents = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogueError(f"{file}:{exc.lineno}: not JSON ({exc.msg})") from None
        uri = f"{BASE_URI}{provider_id}/{relative}"
        if not isinstance(contents, dict):
            raise CatalogueError(f"{file}:1: a JSON Schema is an object")
        declared = contents.get("$id")
        if declared is not None and declared != uri:
            raise CatalogueError(f"{file}:{_line_of(text, '$id')}: $id {declared!r}: leave "
                                 f"it out, or give {uri!r}")
        found[uri] = {**contents, "$id": uri}
        _USER_FILES[uri] = file
    return found


def _check_refs(catalogue: Catalogue, uri: str, file: Path) -> None:
    """Every ``$ref`` of the schema at ``uri`` (read from ``file``) resolves inside the
    catalogue."""
    resolver = catalogue.registry.resolver(base_uri=uri)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    resolver.lookup(ref)
                except referencing.exceptions.Unresolvable:
                    line = _line_of(_read_contract_file(file), ref)
                    raise CatalogueError(f"{file}:{line}: $ref {ref!r} does not resolve "
                                         "(in this provider's files or the bundled "
                                         "common/ ones)") from None
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(catalogue.schemas[uri])


class NoAliasLoader(yaml.SafeLoader):
    """YAML from a user (a config, a team's manifest) without aliases: neither ever needs
    ``*name``, and a few nested aliases ("billion laughs") expand to more memory than any
    machine has."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported",
                                              None)
        return super().compose_node(parent, index)
