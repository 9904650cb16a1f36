"""``hookproof export openapi``: one self-contained, valid OpenAPI 3.1 document per provider."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.export import component_name, event_path, export_openapi, refs_in
from hookproof.cli import main
from hookproof.signing import scheme_for

PROVIDERS = sorted(load_catalogue().providers)



@pytest.fixture(scope="module", params=PROVIDERS)
def exported(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, export_openapi(request.param)


def test_valid_openapi_31(exported: tuple[str, dict[str, Any]]) -> None:
    _, document = exported
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_self_contained(exported: tuple[str, dict[str, Any]]) -> None:
    _, document = exported
    assert "hookproof.invalid" not in json.dumps(document)
    schemas = document["components"]["schemas"]
    for ref in refs_in(document):
        assert ref.startswith("#/components/schemas/"), ref
        name = ref.removeprefix("#/components/schemas/").split("/")[0]
        assert name in schemas, ref


def test_every_event_in_webhooks_and_paths(exported: tuple[str, dict[str, Any]]) -> None:
    provider_id, document = exported
    provider = load_catalogue().provider(provider_id)
    assert set(document["webhooks"]) == {e.name for e in provider.events}
    assert set(document["paths"]) == {event_path(e) for e in provider.events}
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    media = ("application/x-www-form-urlencoded" if provider.transport.encoding == "form"
             else "application/json")
    for event in provider.events:
        op = document["webhooks"][event.name]["post"]
        body = op["requestBody"]["content"]
        assert list(body) == [media]
        assert body[media]["schema"] == {
            "$ref": "#/components/schemas/" + component_name(event.request)}
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert {scheme.header, provider.dedupe_header} <= headers
        timestamp = getattr(scheme, "timestamp_header", None)
        if timestamp:
            assert timestamp in headers
        if provider.event_header:
            assert provider.event_header in headers
        responses = op["responses"]
        if event.response:
            schema = responses["200"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/" + component_name(event.response)}
        assert ("4XX" in responses) == event.rejectable
        assert document["paths"][event_path(event)]["post"]["operationId"] == event.name


def test_schemathesis_loads_every_operation(exported: tuple[str, dict[str, Any]]) -> None:
    import schemathesis

    provider_id, document = exported
    schema = schemathesis.openapi.from_dict(document)
    for event in load_catalogue().provider(provider_id).events:
        assert schema[event_path(event)]["POST"].label == f"POST {event_path(event)}"


def test_inlined_schemas_validate_like_the_contracts() -> None:
    """The inlined copy of a contract accepts and refuses what the contract does."""
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    from hookproof.catalogue.examples import canonical_example

    document = export_openapi("twilio-orchestrator")
    root = {"components": document["components"]}
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(root))
    event = load_catalogue().provider("twilio-orchestrator").event("COMMUNICATION_CREATED")
    validator = Draft202012Validator(
        {"$ref": "urn:doc#/components/schemas/" + component_name(event.request)},
        registry=registry)
    payload = canonical_example("twilio-orchestrator", event.name).payload
    assert validator.is_valid(payload)
    broken = {**payload, "data": {k: v for k, v in payload["data"].items() if k != "author"}}
    assert not validator.is_valid(broken)


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "varda.openapi.json"
    assert main(["export", "openapi", "--provider", "varda", "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == export_openapi("varda")
    assert main(["export", "openapi", "--provider", "operator"]) == 0
    assert json.loads(capsys.readouterr().out)["info"]["title"] == "Operator webhooks"
    assert main(["export", "openapi", "--provider", "nope"]) == 2
