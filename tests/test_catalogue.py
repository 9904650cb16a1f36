"""Catalogue integrity: manifests, schema files, references, formats, example folders."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources.abc import Traversable
from typing import Any

import pytest
import referencing.exceptions
import yaml
from jsonschema import Draft202012Validator

from hookproof.catalogue import BASE_URI, Catalogue, contracts_root, load_catalogue
from hookproof.catalogue.examples import fixtures_root
from hookproof.catalogue.formats import FORMATS

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# Keywords whose values are maps of name -> subschema.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
# Keywords whose values are data, not schemas: never look for `$ref` or `format` in them.
_DATA_VALUED = frozenset({"examples", "const", "enum", "default", "x-docs", "required"})

_CATALOGUE = load_catalogue()
SCHEMA_URIS = sorted(_CATALOGUE.schemas)
PROVIDERS = sorted(_CATALOGUE.providers)


def _short(uri: str) -> str:
    return uri.removeprefix(BASE_URI)


def subschemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every object schema inside ``node`` (itself included), skipping data-valued keywords."""
    if isinstance(node, list):
        for item in node:
            yield from subschemas(item)
        return
    if not isinstance(node, dict):
        return
    yield node
    for key, value in node.items():
        if key in _DATA_VALUED:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for sub in value.values():
                yield from subschemas(sub)
        else:
            yield from subschemas(value)


def _files(node: Traversable, prefix: str = "") -> Iterator[str]:
    for child in node.iterdir():
        if child.name == "__pycache__":
            continue
        if child.is_dir():
            yield from _files(child, f"{prefix}{child.name}/")
        else:
            yield f"{prefix}{child.name}"


# --------------------------------------------------------------------------- providers, events


EXPECTED_EVENT_COUNTS = {
    "twilio-conversations": 23,
    "twilio-orchestrator": 7,
    "twilio-frontline": 7,
    "varda": 9,
    "operator": 3,
}


def test_providers_are_the_five_documented_ones(catalogue: Catalogue) -> None:
    assert set(catalogue.providers) == set(EXPECTED_EVENT_COUNTS)


@pytest.mark.parametrize("provider", sorted(EXPECTED_EVENT_COUNTS))
def test_event_counts(catalogue: Catalogue, provider: str) -> None:
    events = catalogue.provider(provider).events
    assert len(events) == EXPECTED_EVENT_COUNTS[provider]
    assert len({e.name for e in events}) == len(events), "duplicate event names"


def test_twilio_conversations_has_10_pre_and_13_post_events(catalogue: Catalogue) -> None:
    kinds = [e.kind for e in catalogue.provider("twilio-conversations").events]
    assert kinds.count("pre") == 10
    assert kinds.count("post") == 13


def test_frontline_has_hooks_and_callbacks(catalogue: Catalogue) -> None:
    kinds = {e.kind for e in catalogue.provider("twilio-frontline").events}
    assert "callback" in kinds
    assert kinds & {"pre", "post"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_event_groups_are_declared(catalogue: Catalogue, provider: str) -> None:
    spec = catalogue.provider(provider)
    for event in spec.events:
        if spec.hook_groups:
            assert event.group in spec.hook_groups, event.name
        else:
            assert event.group is None, event.name


# --------------------------------------------------------------------------- manifests vs disk


def _manifest_paths(provider_dir: Traversable) -> set[str]:
    data = yaml.safe_load((provider_dir / "manifest.yaml").read_text(encoding="utf-8"))
    paths: set[str] = set()
    for event in data["events"]:
        paths.add(event["request"])
        if event.get("response"):
            paths.add(event["response"])
    for resource in data.get("resources") or ():
        paths.add(resource["schema"])
    return paths


@pytest.mark.parametrize("provider", PROVIDERS)
def test_manifest_names_exactly_the_schema_files_on_disk(provider: str) -> None:
    folder = contracts_root() / provider
    named = _manifest_paths(folder)
    on_disk = {
        f for f in _files(folder)
        # defs.json holds shared definitions; vectors.json the provider's signing vectors
        # (data, checked by tests/test_vectors.py)
        if f.endswith(".json") and f.rsplit("/", 1)[-1] not in ("defs.json", "vectors.json")
    }
    missing = sorted(named - on_disk)
    unreferenced = sorted(on_disk - named)
    assert not missing, f"manifest names files that are not on disk: {missing}"
    assert not unreferenced, f"schema files no manifest names: {unreferenced}"


def test_every_folder_with_schemas_is_a_provider_or_common() -> None:
    root = contracts_root()
    folders = {c.name for c in root.iterdir() if c.is_dir() and c.name != "__pycache__"}
    assert folders == {*PROVIDERS, "common"}
    for provider in PROVIDERS:
        assert (root / provider / "manifest.yaml").is_file()


def test_every_json_file_under_contracts_is_a_registered_schema(catalogue: Catalogue) -> None:
    on_disk = {BASE_URI + f for f in _files(contracts_root())
               if f.endswith(".json") and not f.endswith("/vectors.json")}
    assert on_disk == set(catalogue.schemas)
    vectors = {f.split("/")[0] for f in _files(contracts_root()) if f.endswith("/vectors.json")}
    assert vectors == set(PROVIDERS), "every provider has its signing vectors as data"


# --------------------------------------------------------------------------- each schema


@pytest.mark.parametrize("uri", SCHEMA_URIS, ids=_short)
def test_schema_passes_check_schema(catalogue: Catalogue, uri: str) -> None:
    schema = catalogue.schema(uri)
    assert schema.get("$schema") == DRAFT_2020_12
    assert schema.get("$id") == uri
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("uri", SCHEMA_URIS, ids=_short)
def test_schema_is_documented(catalogue: Catalogue, uri: str) -> None:
    schema = catalogue.schema(uri)
    assert isinstance(schema.get("title"), str) and schema["title"].strip()
    assert isinstance(schema.get("description"), str) and schema["description"].strip()
    docs = schema.get("x-docs")
    urls = [docs] if isinstance(docs, str) else docs
    assert isinstance(urls, list) and urls, "x-docs must be a URL or a non-empty list of URLs"
    for url in urls:
        assert isinstance(url, str) and url.startswith("https://"), url


@pytest.mark.parametrize("uri", SCHEMA_URIS, ids=_short)
def test_every_ref_resolves_offline(catalogue: Catalogue, uri: str) -> None:
    resolver = catalogue.registry.resolver(base_uri=uri)
    refs = [node["$ref"] for node in subschemas(catalogue.schema(uri)) if "$ref" in node]
    for ref in refs:
        assert isinstance(ref, str)
        try:
            resolved = resolver.lookup(ref)
        except referencing.exceptions.Unresolvable as exc:  # pragma: no cover - the failure
            pytest.fail(f"{_short(uri)}: $ref {ref!r} does not resolve: {exc!r}")
        assert isinstance(resolved.contents, dict | bool), ref


def test_registry_refuses_unknown_uris(catalogue: Catalogue) -> None:
    resolver = catalogue.registry.resolver()
    for uri in (
        "https://json-schema.org/draft/2020-12/schema",
        "https://example.com/schema.json",
        BASE_URI + "varda/events/no-such-event.json",
    ):
        with pytest.raises(referencing.exceptions.Unresolvable):
            resolver.lookup(uri)


@pytest.mark.parametrize("uri", SCHEMA_URIS, ids=_short)
def test_every_format_is_enforced(catalogue: Catalogue, uri: str) -> None:
    used = {
        node["format"] for node in subschemas(catalogue.schema(uri))
        if isinstance(node.get("format"), str)
    }
    assert used <= set(FORMATS), f"formats nothing enforces: {sorted(used - set(FORMATS))}"


def test_formats_are_json_schemas_and_the_bundled_ones() -> None:
    standard = {"date-time", "date", "time", "duration", "email", "idn-email", "hostname",
                "idn-hostname", "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference",
                "uuid", "uri-template", "json-pointer", "relative-json-pointer", "regex"}
    assert set(FORMATS) == standard | {"json-object-text", "json-array-text"}


@pytest.mark.parametrize("uri", SCHEMA_URIS, ids=_short)
def test_no_enum_or_object_inside_oneof_anyof(catalogue: Catalogue, uri: str) -> None:
    # Contract rule: inside oneOf/anyOf the error/drift classification would be lost.
    for node in subschemas(catalogue.schema(uri)):
        for key in ("oneOf", "anyOf"):
            for branch in node.get(key) or ():
                for sub in subschemas(branch):
                    assert "enum" not in sub and "properties" not in sub, (key, sub)


@pytest.mark.parametrize("uri", SCHEMA_URIS, ids=_short)
def test_nullable_is_written_as_a_type_list(catalogue: Catalogue, uri: str) -> None:
    for node in subschemas(catalogue.schema(uri)):
        for key in ("oneOf", "anyOf"):
            for branch in node.get(key) or ():
                assert not (isinstance(branch, dict) and branch.get("type") == "null"), node


# --------------------------------------------------------------------------- example folders


def _subjects(catalogue: Catalogue) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for provider in catalogue.providers.values():
        for event in provider.events:
            out.append((provider.id, event.name, False))
            if event.response:
                out.append((provider.id, event.name, True))
        out.extend((provider.id, r.name, False) for r in provider.resources)
    return out


SUBJECTS = _subjects(_CATALOGUE)


def _subject_id(subject: tuple[str, str, bool]) -> str:
    provider, name, response = subject
    return f"{provider}/{name}" + ("/response" if response else "")


def _examples_folder(provider: str, name: str, response: bool) -> Traversable:
    folder = fixtures_root() / provider / name
    return folder / "response" if response else folder


@pytest.mark.parametrize("subject", SUBJECTS, ids=_subject_id)
def test_subject_has_valid_and_invalid_examples(subject: tuple[str, str, bool]) -> None:
    folder = _examples_folder(*subject)
    for kind in ("valid", "invalid"):
        files = [f.name for f in (folder / kind).iterdir()] if (folder / kind).is_dir() else []
        assert any(n.endswith((".json", ".form")) for n in files), f"no {kind} example"


@pytest.mark.parametrize("subject", SUBJECTS, ids=_subject_id)
def test_expected_yaml_covers_exactly_the_invalid_examples(
    subject: tuple[str, str, bool],
) -> None:
    folder = _examples_folder(*subject) / "invalid"
    expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    files = {f.name for f in folder.iterdir() if f.name.endswith((".json", ".form"))}
    assert set(expected) == files
    for name, spec in expected.items():
        assert set(spec) == {"path", "rule"}, name
        assert str(spec["path"]).startswith("$"), name
        assert spec["rule"] and spec["rule"] != "enum", name  # an enum miss is drift


@pytest.mark.parametrize("subject", SUBJECTS, ids=_subject_id)
def test_valid_example_names_follow_the_convention(subject: tuple[str, str, bool]) -> None:
    folder = _examples_folder(*subject) / "valid"
    for f in folder.iterdir():
        stem, _, suffix = f.name.rpartition(".")
        assert suffix in ("json", "form"), f.name
        assert suffix == "json" or stem.startswith("documented"), f".form only verbatim: {f.name}"


def test_no_orphan_example_folders(catalogue: Catalogue) -> None:
    root = fixtures_root()
    known = {(p, n) for p, n, _ in SUBJECTS}
    with_response = {(p, n) for p, n, r in SUBJECTS if r}
    for provider in root.iterdir():
        if not provider.is_dir() or provider.name == "__pycache__":
            continue
        assert provider.name in catalogue.providers, provider.name
        for subject in provider.iterdir():
            assert (provider.name, subject.name) in known, f"{provider.name}/{subject.name}"
            allowed = {"valid", "invalid"} | (
                {"response"} if (provider.name, subject.name) in with_response else set()
            )
            names = {c.name for c in subject.iterdir()}
            assert names <= allowed, f"{provider.name}/{subject.name}: {sorted(names - allowed)}"
