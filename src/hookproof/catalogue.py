"""The bundled contracts: provider manifests and JSON Schemas, loaded from package data.

Every schema file is registered under its ``$id`` in one :class:`referencing.Registry`;
references are resolved from that registry only, never from the network.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
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
    hook_groups: Mapping[str, str]
    """Hook group name -> default path relative to the target URL."""
    events: tuple[Event, ...]
    resources: tuple[Resource, ...] = ()
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

    def event_name_of(self, payload: object) -> str | None:
        """The event name the platform wrote into ``payload``, or None."""
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
        if not relative.endswith(".json"):
            continue
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


def _parse_manifest(provider_dir: str, data: Mapping[str, Any]) -> Provider:
    where = f"contracts/{provider_dir}/manifest.yaml"
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
            hook_groups={
                str(name): str((spec or {}).get("default_path", ""))
                for name, spec in (data.get("hook_groups") or {}).items()
            },
            events=events,
            resources=tuple(
                Resource(str(r["name"]), base + r["schema"], _as_tuple(r.get("docs")))
                for r in data.get("resources") or ()
            ),
            _by_name={e.name: e for e in events},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"{where}: malformed manifest ({exc!r})") from None


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


@functools.cache
def load_catalogue() -> Catalogue:
    """The bundled catalogue (loaded once per process)."""
    return load_catalogue_from(contracts_root())
