"""The bundled example payloads (package data ``hookproof.fixtures``)."""

from __future__ import annotations

import functools
import json
import random
import re
import uuid
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from hookproof.catalogue import SAFE_LOADER
from hookproof.transport.encoding import decode_form


@dataclass(frozen=True)
class Example:
    name: str
    """File name, e.g. ``documented.form`` or ``minimal.json``."""
    raw: bytes
    """The file's bytes: a verbatim documented example is sent exactly so."""
    payload: Any
    """Parsed: a JSON value, or for a ``.form`` file the mapping of parameters."""

    @property
    def is_form_body(self) -> bool:
        return self.name.endswith(".form")


@dataclass(frozen=True)
class InvalidExample(Example):
    path: str = "$"
    rule: str = ""


def fixtures_root() -> Traversable:
    return resources.files("hookproof.fixtures")


def _read(file: Traversable) -> Example:
    raw = file.read_bytes()
    if file.name.endswith(".form"):
        return Example(file.name, raw, decode_form(raw))
    return Example(file.name, raw, json.loads(raw))


def _folder(provider: str, *parts: str) -> Traversable | None:
    """A folder of examples: the bundled ones, or a team's provider's own
    (``<DIR>/<provider>/examples/<event>/valid``)."""
    from hookproof.catalogue import USER_EXAMPLES

    node: Traversable = USER_EXAMPLES.get(provider) or (fixtures_root() / provider)
    for part in parts:
        node = node / part
    return node if node.is_dir() else None


@functools.cache
def valid_examples(provider: str, subject: str, *, response: bool = False) -> tuple[Example, ...]:
    """Valid examples of an event (or resource), or of its response contract.

    A team's provider without an examples folder for an event has its schema's ``examples``
    (the platform's documented ones: ``documented-N.json``); where it has none, one is derived
    from the schema (``derived.json``). A team's provider also gets derived variants the
    bundled fixtures hold as files: ``minimal.json`` (required fields only) and
    ``maximal-nulls.json`` (null wherever the contract allows it)."""
    folder = _folder(provider, subject, *(["response"] if response else []), "valid")
    if folder is None:
        found = () if response else _schema_examples(provider, subject)
    else:
        files = [f for f in folder.iterdir() if f.name.endswith((".json", ".form"))]
        found = tuple(_read(f) for f in sorted(files, key=lambda f: f.name))
    if response or not _is_user(provider) or not _is_event(provider, subject):
        return found
    return derived_examples(provider, subject, found)


def _is_event(provider: str, subject: str) -> bool:
    from hookproof.catalogue import load_catalogue

    spec = load_catalogue().providers.get(provider)
    return spec is not None and spec.has_event(subject)


def is_derived(example: Example) -> bool:
    """Whether hookproof derived ``example`` from the contract (no file or schema gave it)."""
    stem = example.name.rsplit(".", 1)[0]
    return stem == "derived" or stem.endswith("-derived")


def _schema_examples(provider: str, subject: str) -> tuple[Example, ...]:
    from hookproof.catalogue import load_catalogue

    catalogue = load_catalogue()
    spec = catalogue.providers.get(provider)
    if spec is None or not spec.has_event(subject) or not _is_user(provider):
        return ()
    schema = catalogue.schemas.get(spec.event(subject).request) or {}
    found = schema.get("examples") if isinstance(schema, dict) else None
    if not isinstance(found, list):
        return ()
    return tuple(Example(f"documented-{index}.json", json.dumps(value).encode("utf-8"),
                         value) for index, value in enumerate(found, start=1))


def _is_user(provider: str) -> bool:
    return not (fixtures_root() / provider).is_dir()


@functools.cache
def invalid_examples(provider: str, subject: str, *,
                     response: bool = False) -> tuple[InvalidExample, ...]:
    """Invalid examples with the path and rule each must fail at (a team's provider without
    an invalid folder: its canonical example without a required field, derived)."""
    folder = _folder(provider, subject, *(["response"] if response else []), "invalid")
    if folder is None:
        if response or not _is_user(provider) or not _is_event(provider, subject):
            return ()
        return derived_invalid_examples(provider, subject)
    expected_file = folder / "expected.yaml"
    expected: dict[str, Any] = (
        yaml.load(expected_file.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
        if expected_file.is_file() else {}
    )
    out: list[InvalidExample] = []
    for file in sorted(folder.iterdir(), key=lambda f: f.name):
        if not file.name.endswith((".json", ".form")):
            continue
        example = _read(file)
        spec = expected.get(file.name) or {}
        out.append(InvalidExample(example.name, example.raw, example.payload,
                                  path=str(spec.get("path", "$")), rule=str(spec.get("rule", ""))))
    return tuple(out)


def example_named(provider: str, event: str, prefix: str) -> Example | None:
    """The example called ``prefix`` (``minimal``, ``maximal-nulls``...), given or derived."""
    for example in valid_examples(provider, event):
        if example.name.rsplit(".", 1)[0] in (prefix, f"{prefix}-derived"):
            return example
    return None


def documented_examples(provider: str, event: str) -> tuple[Example, ...]:
    return tuple(e for e in valid_examples(provider, event) if e.name.startswith("documented"))


def canonical_example(provider: str, event: str) -> Example:
    """The example checks send by default: documented, else maximal, else minimal."""
    for example in (*documented_examples(provider, event),
                    example_named(provider, event, "maximal"),
                    example_named(provider, event, "derived"),
                    example_named(provider, event, "minimal")):
        if example is not None:
            return example
    examples = valid_examples(provider, event)
    if not examples:
        raise LookupError(f"no valid example for {provider} {event}")
    return examples[0]


_SID = re.compile(r"^([A-Z]{2})[0-9a-fA-F]{32}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def fresh_ids(value: Any, rng: random.Random, key: str = "") -> Any:
    """A copy of ``value`` (an example payload) with fresh ids: every Twilio SID, UUID and
    integer id (a key ``id``, ``..._id`` or ``...Id``) made new, their documented shapes kept,
    so that the copy is another event of the same kind."""
    if isinstance(value, dict):
        return {k: fresh_ids(v, rng, k) for k, v in value.items()}
    if isinstance(value, list):
        return [fresh_ids(v, rng, key) for v in value]
    if isinstance(value, str):
        match = _SID.match(value)
        if match:
            return match.group(1) + f"{rng.getrandbits(128):032x}"
        if _UUID.match(value):
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return value
    if isinstance(value, int) and not isinstance(value, bool) and (
            key == "id" or key.endswith(("_id", "Id"))):
        return rng.randint(1, 2**31 - 1)
    return value


# -- derived from the contract: the examples a team's provider gets ---------------------------

def _as_example(name: str, value: Any) -> Example:
    return Example(name, json.dumps(value).encode("utf-8"), value)


def derived_examples(provider_id: str, event_name: str,
                     found: tuple[Example, ...]) -> tuple[Example, ...]:
    """``found`` (a team's event's given examples) and those derived from its contract:
    ``derived.json`` where nothing was given, ``minimal-derived.json`` and
    ``maximal-nulls-derived.json`` where no file of that name was."""
    from hookproof.catalogue import load_catalogue
    from hookproof.catalogue.derive import DeriveError, _nulled, _schema_file, derive_valid
    from hookproof.catalogue.validation import engine_for
    from hookproof.errors import CatalogueError

    catalogue = load_catalogue()
    provider = catalogue.provider(provider_id)
    uri = provider.event(event_name).request
    engine = engine_for(catalogue)
    stems = {e.name.rsplit(".", 1)[0] for e in found}
    out = list(found)
    try:
        if not found:
            out.append(_as_example("derived.json", derive_valid(
                engine, provider, event_name, uri, minimal=False)))
        if "minimal" not in stems:
            out.append(_as_example("minimal-derived.json", derive_valid(
                engine, provider, event_name, uri, minimal=True)))
    except (DeriveError, RecursionError) as exc:
        raise CatalogueError(f"{_schema_file(uri)}: no valid example could be derived for "
                             f"{provider_id} {event_name} ({exc}); give one in the schema's "
                             "\"examples\" or examples/<event>/valid/") from None
    if "maximal-nulls" not in stems:
        base = next((e for e in out if e.name.startswith(("documented", "maximal", "derived"))),
                    out[0])
        nulled = _nulled(engine, uri, base.payload) if isinstance(base.payload, dict) else None
        if nulled is not None:
            out.append(_as_example("maximal-nulls-derived.json", nulled))
    return tuple(out)


def derived_invalid_examples(provider_id: str, event_name: str) -> tuple[InvalidExample, ...]:
    """The canonical example without a required top-level field (not the event's name)."""
    from hookproof.catalogue import load_catalogue
    from hookproof.catalogue.derive import _Deriver
    from hookproof.catalogue.validation import engine_for

    catalogue = load_catalogue()
    provider = catalogue.provider(provider_id)
    uri = provider.event(event_name).request
    payload = canonical_example(provider_id, event_name).payload
    if not isinstance(payload, dict):
        return ()
    engine = engine_for(catalogue)
    resolver = engine.catalogue.registry.resolver(base_uri=uri)
    top, _ = _Deriver(random.Random(0), True, lambda *_: True)._merged(
        engine.catalogue.schemas[uri], resolver, 0)
    required = set(top.get("required") or ())
    naming = {f.split(".")[0] for f in provider.event_fields}
    for key in payload:
        if key in naming or key not in required:
            continue
        trial = {k: v for k, v in payload.items() if k != key}
        if not engine.validator(uri).is_clean(trial):
            raw = json.dumps(trial).encode("utf-8")
            return (InvalidExample(f"missing-{key}-derived.json", raw, trial,
                                   path=f"$.{key}" if key.isidentifier() else f"$['{key}']",
                                   rule="required"),)
    return ()
