"""The bundled examples against the contracts.

* every valid example validates with no error (and, unless it is a verbatim documented
  example, with no drift either);
* every invalid example fails at its recorded path with its recorded rule, and at nothing else;
* every documented example (the seeds' verbatim payloads) validates clean, and removing any
  required field from it — at every object level present in it — makes it fail at that field;
* a minimal example holds required fields only: removing any of its fields fails.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing._core import Resolver

from hookproof.catalogue import Catalogue, load_catalogue
from hookproof.catalogue.examples import Example, InvalidExample, invalid_examples, valid_examples
from hookproof.catalogue.validation import (
    ValidationEngine,
    ValidationResult,
    json_path,
    validate,
    validate_resource,
    validate_response,
)
from hookproof.transport.encoding import decode_form

Path = tuple[str | int, ...]

_CATALOGUE = load_catalogue()


class Subject:
    """An event's request contract, an event's response contract, or a resource."""

    def __init__(self, provider: str, name: str, uri: str, kind: str) -> None:
        self.provider, self.name, self.uri, self.kind = provider, name, uri, kind

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.name}" + ("/response" if self.kind == "response" else "")

    def valid(self) -> tuple[Example, ...]:
        return valid_examples(self.provider, self.name, response=self.kind == "response")

    def invalid(self) -> tuple[InvalidExample, ...]:
        return invalid_examples(self.provider, self.name, response=self.kind == "response")

    def validate(self, payload: Any) -> ValidationResult:
        """Through the public API, the event named explicitly."""
        if self.kind == "request":
            return validate(payload, provider=self.provider, event=self.name)
        if self.kind == "response":
            return validate_response(payload, provider=self.provider, event=self.name)
        return validate_resource(payload, provider=self.provider, resource=self.name)


def _subjects(catalogue: Catalogue) -> list[Subject]:
    out: list[Subject] = []
    for provider in catalogue.providers.values():
        for event in provider.events:
            out.append(Subject(provider.id, event.name, event.request, "request"))
            if event.response:
                out.append(Subject(provider.id, event.name, event.response, "response"))
        out.extend(Subject(provider.id, r.name, r.schema, "resource") for r in provider.resources)
    return out


SUBJECTS = _subjects(_CATALOGUE)

VALID = [
    pytest.param(s, e, id=f"{s.label}/{e.name}") for s in SUBJECTS for e in s.valid()
]
INVALID = [
    pytest.param(s, e, id=f"{s.label}/{e.name}") for s in SUBJECTS for e in s.invalid()
]
DOCUMENTED = [
    pytest.param(s, e, id=f"{s.label}/{e.name}")
    for s in SUBJECTS for e in s.valid() if e.name.startswith("documented")
]
MINIMAL = [
    pytest.param(s, e, id=f"{s.label}/{e.name}")
    for s in SUBJECTS for e in s.valid() if e.name == "minimal.json"
]
REQUEST_VALID = [
    pytest.param(s, e, id=f"{s.label}/{e.name}")
    for s in SUBJECTS if s.kind == "request" for e in s.valid()
]


# Verbatim documented examples that show drift (paths): the docs' own example uses a value
# outside the documented set. Any other drift in a valid example is a bug in it or the contract.
DOCUMENTED_DRIFT = {
    # Twilio's Webhook Configuration example lists the legacy filter name `onMessageSend`.
    "twilio-conversations/WebhookConfiguration/documented-get.json": ["$.filters[0]"],
    # Twilio's frontline-demo-service example data: a numeric customer_id (docs: a string).
    "twilio-frontline/GetCustomerDetailsByCustomerId/response/demo-numeric-customer-id.json": [
        "$.objects.customer.customer_id"],
}


def _findings(result: ValidationResult) -> list[tuple[str, str, str]]:
    return [(f.kind, f.path, f.keyword) for f in (*result.errors, *result.drift)]


# --------------------------------------------------------------------------- valid / invalid


def test_there_are_examples_of_every_kind() -> None:
    assert len(VALID) > 100 and len(INVALID) > 200 and len(DOCUMENTED) > 20


@pytest.mark.parametrize(("subject", "example"), VALID)
def test_valid_example_has_no_error(subject: Subject, example: Example) -> None:
    result = subject.validate(example.payload)
    assert result.errors == (), _findings(result)
    assert result.ok
    # Nothing undocumented either, except where a verbatim documented example shows it.
    drift = [f.path for f in result.drift]
    assert drift == DOCUMENTED_DRIFT.get(f"{subject.label}/{example.name}", []), drift


@pytest.mark.parametrize(("subject", "example"), INVALID)
def test_invalid_example_fails_at_its_recorded_path(
    subject: Subject, example: InvalidExample
) -> None:
    result = subject.validate(example.payload)
    assert not result.ok
    found = [(f.path, f.keyword) for f in result.errors]
    assert (example.path, example.rule) in found, found
    # "breaks exactly one documented rule": nothing else is reported as an error.
    assert found == [(example.path, example.rule)], found


@pytest.mark.parametrize(("subject", "example"), VALID)
def test_form_documented_example_is_the_raw_body(subject: Subject, example: Example) -> None:
    if example.is_form_body:
        assert _CATALOGUE.provider(subject.provider).transport.encoding == "form"
        assert example.payload == decode_form(example.raw)
        assert all(isinstance(v, str | list) for v in example.payload.values())


@pytest.mark.parametrize(("subject", "example"), REQUEST_VALID)
def test_event_is_inferred_from_the_payload(subject: Subject, example: Example) -> None:
    provider = _CATALOGUE.provider(subject.provider)
    inferred = provider.event_name_of(example.payload)
    if subject.provider == "twilio-frontline" and subject.name == "routing":
        assert inferred is None  # routing payloads carry no event name: --event is needed
    else:
        assert inferred == subject.name
        assert validate(example.payload, provider=subject.provider).ok


# --------------------------------------------------------------------------- documented examples


def test_every_documented_example_is_verbatim_text() -> None:
    # A documented example is sent byte for byte: it must at least be UTF-8 text.
    for param in DOCUMENTED:
        example: Example = param.values[1]  # type: ignore[assignment]
        example.raw.decode("utf-8")


@pytest.mark.parametrize(("subject", "example"), DOCUMENTED)
def test_documented_example_validates_clean(subject: Subject, example: Example) -> None:
    result = subject.validate(example.payload)
    assert result.errors == (), _findings(result)
    if f"{subject.label}/{example.name}" not in DOCUMENTED_DRIFT:
        assert result.drift == (), _findings(result)


def _if_holds(schema: Any, instance: Any) -> bool:
    if isinstance(schema, bool):
        return schema
    assert "$ref" not in str(schema), "an `if` with a $ref needs a resolver here"
    return bool(Draft202012Validator(schema).is_valid(instance))


def required_paths(node: Any, resolver: Resolver[Any], instance: Any, path: Path = ()
                   ) -> Iterator[Path]:
    """Paths of every field ``node`` requires that is present in ``instance``.

    Walks every object level present in the instance, following ``$ref`` through the
    catalogue's registry and ``if``/``then``/``else`` by evaluating ``if``.
    """
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        yield from required_paths(resolved.contents, resolved.resolver, instance, path)
    for sub in node.get("allOf") or ():
        yield from required_paths(sub, resolver, instance, path)
    if "if" in node:
        branch = node.get("then" if _if_holds(node["if"], instance) else "else")
        if branch is not None:
            yield from required_paths(branch, resolver, instance, path)
    if isinstance(instance, dict):
        for key in node.get("required") or ():
            if key in instance:
                yield (*path, key)
        properties = node.get("properties") or {}
        for key, sub in properties.items():
            if key in instance:
                yield from required_paths(sub, resolver, instance[key], (*path, key))
        additional = node.get("additionalProperties")
        if isinstance(additional, dict):
            for key in instance.keys() - properties.keys():
                yield from required_paths(additional, resolver, instance[key], (*path, key))
    if isinstance(instance, list):
        prefix = node.get("prefixItems") or []
        for index, item in enumerate(instance):
            sub = prefix[index] if index < len(prefix) else node.get("items")
            yield from required_paths(sub, resolver, item, (*path, index))


def without(payload: Any, path: Path) -> Any:
    """A deep copy of ``payload`` with the field at ``path`` removed."""
    result = copy.deepcopy(payload)
    parent = result
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return result


def _required_of(subject: Subject, payload: Any) -> list[Path]:
    resolver = _CATALOGUE.registry.resolver(base_uri=subject.uri)
    return list(dict.fromkeys(required_paths(_CATALOGUE.schema(subject.uri), resolver, payload)))


@pytest.mark.parametrize(("subject", "example"), DOCUMENTED)
def test_removing_any_required_field_of_a_documented_example_fails_there(
    subject: Subject, example: Example
) -> None:
    required = _required_of(subject, example.payload)
    if subject.kind == "request":  # responses and resources may have no required field
        assert required, "a documented request with no required field present?"
    for path in required:
        result = subject.validate(without(example.payload, path))
        found = [(f.path, f.keyword) for f in result.errors]
        assert (json_path(path), "required") in found, (json_path(path), found)


@pytest.mark.parametrize(("subject", "example"), MINIMAL)
def test_minimal_example_holds_required_fields_only(subject: Subject, example: Example) -> None:
    # Every field of a minimal example is required: removing any one of them fails there.
    def fields(value: Any, path: Path = ()) -> Iterator[Path]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield (*path, key)
                yield from fields(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from fields(item, (*path, index))

    for path in fields(example.payload):
        result = subject.validate(without(example.payload, path))
        found = [(f.path, f.keyword) for f in result.errors]
        assert (json_path(path), "required") in found, (json_path(path), found)


def test_required_walker_sees_nested_levels(catalogue: Catalogue) -> None:
    # Guard the walker itself: it must reach below the top level (varda `data.contact.id`).
    subject = next(s for s in SUBJECTS if (s.provider, s.name, s.kind)
                   == ("varda", "message.created", "request"))
    example = next(e for e in subject.valid() if e.name == "maximal.json")
    required = _required_of(subject, example.payload)
    assert ("event",) in required
    assert ("data", "id") in required
    assert ("data", "contact", "id") in required


def test_engine_is_the_cached_one(fast_engine: ValidationEngine) -> None:
    # `validate` goes through the engine the other tests compare against.
    from hookproof.catalogue.validation import engine_for

    assert engine_for() is fast_engine
