"""Validation: errors vs drift, the fast (jsonschema_rs) and slow (jsonschema) paths, formats."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookproof.catalogue import Catalogue, load_catalogue
from hookproof.catalogue.examples import example_named, invalid_examples, valid_examples
from hookproof.catalogue.formats import (
    FORMATS,
    is_date_time,
    is_email,
    is_json_array_text,
    is_json_object_text,
    is_uri,
)
from hookproof.catalogue.validation import (
    Finding,
    ValidationEngine,
    json_path,
    strictify,
    validate,
    validate_resource,
    validate_response,
)
from hookproof.errors import InputError, UnknownEventError, UnknownProviderError

_CATALOGUE = load_catalogue()


def _example(provider: str, event: str, name: str = "maximal") -> Any:
    example = example_named(provider, event, name)
    assert example is not None, (provider, event, name)
    return copy.deepcopy(example.payload)


def _kinds(findings: tuple[Finding, ...]) -> list[tuple[str, str]]:
    return [(f.path, f.keyword) for f in findings]


# --------------------------------------------------------------------------- errors vs drift


def test_unknown_field_is_drift_not_error() -> None:
    payload = _example("varda", "message.created")
    payload["brand_new"] = 1
    result = validate(payload, provider="varda")
    assert result.ok and result.errors == ()
    assert _kinds(result.drift) == [("$.brand_new", "unevaluatedProperties")]
    assert result.drift[0].kind == "drift"


def test_unknown_nested_field_is_drift_at_its_path() -> None:
    payload = _example("varda", "message.created")
    payload["data"]["contact"]["nickname"] = "JD"
    payload["data"]["attribution"]["utm_term"] = "x"
    result = validate(payload, provider="varda")
    assert result.ok
    assert _kinds(result.drift) == [
        ("$.data.attribution.utm_term", "unevaluatedProperties"),
        ("$.data.contact.nickname", "unevaluatedProperties"),
    ]


def test_unknown_dotted_form_parameter_is_drift_with_bracket_path() -> None:
    payload = _example("twilio-conversations", "onMessageAdd")
    payload["MessagingBinding.Brand"] = "x"
    result = validate(payload, provider="twilio-conversations")
    assert result.ok
    assert _kinds(result.drift) == [("$['MessagingBinding.Brand']", "unevaluatedProperties")]


def test_unknown_enum_value_is_drift() -> None:
    payload = _example("varda", "message.created")
    payload["data"]["direction"] = "sideways"
    result = validate(payload, provider="varda")
    assert result.ok and result.errors == ()
    assert _kinds(result.drift) == [("$.data.direction", "enum")]
    assert "sideways" in result.drift[0].message and "inbound" in result.drift[0].message


def test_open_set_value_is_neither_error_nor_drift() -> None:
    payload = _example("varda", "message.created")
    payload["data"]["channel_type"] = "carrier-pigeon"  # documented as an open set
    result = validate(payload, provider="varda")
    assert result.errors == () and result.drift == ()


def test_open_map_keys_are_left_alone() -> None:
    body = copy.deepcopy(valid_examples("operator", "conversation.setup", response=True)[0].payload)
    body["context"]["anything_at_all"] = {"nested": [1, 2]}
    result = validate_response(body, provider="operator", event="conversation.setup")
    assert result.errors == () and result.drift == ()


def test_closed_response_object_rejects_unknown_keys_as_error() -> None:
    # Twilio's pre-event answers are `additionalProperties: false`: that is a documented rule.
    body = {"body": "hi", "no_such_key": 1}
    result = validate_response(body, provider="twilio-conversations", event="onMessageAdd")
    assert _kinds(result.errors) == [("$.no_such_key", "additionalProperties")]
    assert result.drift == ()


def test_bad_pattern_is_an_error() -> None:
    payload = _example("twilio-conversations", "onMessageAdd")
    payload["ConversationSid"] = "XX0123456789abcdef0123456789abcdef"
    result = validate(payload, provider="twilio-conversations")
    assert not result.ok
    assert _kinds(result.errors) == [("$.ConversationSid", "pattern")]


def test_wrong_event_name_is_a_const_error() -> None:
    payload = _example("varda", "message.created")
    result = validate(payload, provider="varda", event="conversation.created")
    assert ("$.event", "const") in _kinds(result.errors)


def test_errors_and_drift_are_kept_apart_in_one_payload() -> None:
    payload = _example("varda", "message.created")
    del payload["data"]["id"]
    payload["data"]["timestamp_ms"] = 1
    payload["data"]["direction"] = "sideways"
    payload["timestamp"] = "yesterday"
    result = validate(payload, provider="varda")
    assert _kinds(result.errors) == [("$.data.id", "required"), ("$.timestamp", "format")]
    assert _kinds(result.drift) == [
        ("$.data.direction", "enum"),
        ("$.data.timestamp_ms", "unevaluatedProperties"),
    ]
    assert all(f.kind == "error" for f in result.errors)
    assert all(f.kind == "drift" for f in result.drift)


def test_several_missing_required_fields_each_reported() -> None:
    payload = _example("varda", "message.created")
    for key in ("id", "content", "contact"):
        del payload["data"][key]
    result = validate(payload, provider="varda")
    assert _kinds(result.errors) == [
        ("$.data.contact", "required"), ("$.data.content", "required"), ("$.data.id", "required"),
    ]
    assert result.errors[0].message == "required field 'contact' is missing"
    assert str(result.errors[0]) == "$.data.contact: required field 'contact' is missing"


def test_finding_carries_schema_path() -> None:
    payload = _example("varda", "message.created")
    del payload["data"]["id"]
    (finding,) = validate(payload, provider="varda").errors
    assert finding.schema_path == "properties/data/required"


def test_event_is_inferred_or_refused() -> None:
    payload = _example("varda", "message.created")
    assert validate(payload, provider="varda").ok
    routing = _example("twilio-frontline", "routing")
    with pytest.raises(InputError, match="--event"):
        validate(routing, provider="twilio-frontline")
    assert validate(routing, provider="twilio-frontline", event="routing").ok


def test_unknown_provider_and_event_are_usage_errors() -> None:
    with pytest.raises(UnknownProviderError, match="known providers: operator, twilio"):
        validate({}, provider="nope")
    with pytest.raises(UnknownEventError, match="known events"):
        validate({}, provider="varda", event="nope")
    payload = _example("varda", "message.created")
    payload["event"] = "message.exploded"
    with pytest.raises(UnknownEventError):
        validate(payload, provider="varda")


def test_response_contract_and_resource_lookups() -> None:
    with pytest.raises(InputError, match="no response contract"):
        validate_response({}, provider="varda", event="message.created")
    with pytest.raises(UnknownEventError):
        validate_resource({}, provider="varda", resource="WebhookConfiguration")
    example = valid_examples("twilio-conversations", "WebhookConfiguration")[0]
    assert validate_resource(
        example.payload, provider="twilio-conversations", resource="WebhookConfiguration"
    ).ok


def test_non_object_payload_is_a_type_error() -> None:
    result = validate([1, 2], provider="varda", event="message.created")
    assert _kinds(result.errors) == [("$", "type")]


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], "$"),
        (["data", "contact", "id"], "$.data.contact.id"),
        (["MessagingBinding.Address", 1], "$['MessagingBinding.Address'][1]"),
        (["items", 0, "_x1"], "$.items[0]._x1"),
        (["with space", "1abc", "it's"], "$['with space']['1abc'][\"it's\"]"),
    ],
)
def test_json_path(parts: list[object], expected: str) -> None:
    assert json_path(parts) == expected


def test_strictify_closes_documented_objects_only() -> None:
    schema = {
        "type": "object",
        "properties": {
            "doc": {"type": "object", "properties": {"a": {"type": "string"}}},
            "open": {"type": "object", "properties": {}, "additionalProperties": True},
            "map": {"type": "object", "additionalProperties": {"properties": {"x": True}}},
        },
        "$defs": {"D": {"properties": {"b": True}}},
        "if": {"properties": {"k": {"const": 1}}},
        "then": {"properties": {"k": True}},
    }
    original = copy.deepcopy(schema)
    strict = strictify(schema)
    assert schema == original, "strictify must not touch its input"
    assert strict["unevaluatedProperties"] is False
    assert strict["properties"]["doc"]["unevaluatedProperties"] is False
    assert "unevaluatedProperties" not in strict["properties"]["open"]
    assert strict["properties"]["map"]["additionalProperties"]["unevaluatedProperties"] is False
    assert strict["$defs"]["D"]["unevaluatedProperties"] is False
    assert "unevaluatedProperties" not in strict["if"], "a test must not be made strict"
    # `then` applies to the same object: closed at the object, whose unevaluatedProperties
    # sees what `then` evaluates; closing `then` too would make every other field drift
    assert "unevaluatedProperties" not in strict["then"]


def test_both_engines_exist(fast_engine: ValidationEngine, slow_engine: ValidationEngine) -> None:
    assert fast_engine.fast_validator({"type": "string"}) is not None, "jsonschema_rs missing?"
    assert slow_engine.fast_validator({"type": "string"}) is None


# --------------------------------------------------------------------------- fast vs slow


def _cases(catalogue: Catalogue) -> Iterator[tuple[str, str, Any]]:
    """(label, schema uri, payload) of every valid and invalid example."""
    for provider in catalogue.providers.values():
        subjects = [(e.name, e.request, False) for e in provider.events]
        subjects += [(e.name, e.response, True) for e in provider.events if e.response]
        subjects += [(r.name, r.schema, False) for r in provider.resources]
        for name, uri, response in subjects:
            where = f"{provider.id}/{name}" + ("/response" if response else "")
            for example in (*valid_examples(provider.id, name, response=response),
                            *invalid_examples(provider.id, name, response=response)):
                yield f"{where}/{example.name}", uri, example.payload


CASES = list(_cases(_CATALOGUE))


@pytest.mark.parametrize(("uri", "payload"), [pytest.param(u, p, id=i) for i, u, p in CASES])
def test_engines_agree_on_every_example(
    fast_engine: ValidationEngine, slow_engine: ValidationEngine, uri: str, payload: Any
) -> None:
    fast, slow = fast_engine.validator(uri), slow_engine.validator(uri)
    assert fast.is_clean(payload) == slow.is_clean(payload)
    assert fast.validate(payload) == slow.validate(payload)


# Strings that probe formats and patterns; plus every string value the examples hold.
_PROBES = [
    "", " ", "0", "-1", "true", "null", "{}", "[]", "{\"a\":1}", "[1]", "{", "not json",
    "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456789+05:30", "2024-02-30T00:00:00Z",
    "2024-01-01T00:00:00", "https://example.com/x", "/relative", "mailto:a@b.co",
    "jane@example.com", "jane@", "+15555550100", "AC0123456789abcdef0123456789abcdef",
    "CH0123456789abcdef0123456789abcdef", "MB0123456789abcdef0123456789abcdef", "\u00e9",
    "\U0001f600", "a\nb",
]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


_KNOWN_STRINGS = sorted({s for _, _, p in CASES for s in _strings(p)} | set(_PROBES))

# Strings ending in a newline are included on purpose: Python's `$` matches before a final
# newline, ECMA's does not (see test_trailing_newline_fails_pattern_on_both_paths).
_text = st.text(max_size=10)
_AFFIXES = [" ", "\t", "x", "0", "Z", "\u00e9", "\u0662", "\r", "\n", "\n\n", "\u2028"]
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-3, 3).map(float),
    st.floats(allow_nan=False, allow_infinity=False), _text, st.sampled_from(_KNOWN_STRINGS),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(_text, st.sampled_from(_KNOWN_STRINGS)), inner, max_size=3),
    ),
    max_leaves=6,
)


def _locations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every value below ``value`` (not itself)."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*path, key)
        yield from _locations(item, (*path, key))


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict | list):
        yield path
    for location in _locations(value, path):
        node = _at(value, location[len(path):])
        if isinstance(node, dict | list):
            yield location


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    _, uri, payload = draw(st.sampled_from(CASES))
    payload = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "affix", "affix", "root"]))
        locations = list(_locations(payload))
        if op == "root" and draw(st.integers(0, 9)) == 0:
            payload = draw(_values)
        elif op == "delete" and locations:
            where = draw(st.sampled_from(locations))
            parent = _at(payload, where[:-1])
            del parent[where[-1]]
        elif op == "insert" and list(_containers(payload)):
            node = _at(payload, draw(st.sampled_from(list(_containers(payload)))))
            if isinstance(node, dict):
                node[draw(st.one_of(st.sampled_from(_KNOWN_STRINGS), _text))] = draw(_values)
            else:
                node.insert(draw(st.integers(0, len(node))), draw(_values))
        elif op == "affix" and (texts := [w for w in locations
                                          if isinstance(_at(payload, w), str)]):
            # Probe pattern and format boundaries: a valid value with a character before/after.
            where = draw(st.sampled_from(texts))
            extra = draw(st.sampled_from(_AFFIXES))
            value = _at(payload, where)
            value = extra + value if draw(st.booleans()) else value + extra
            _at(payload, where[:-1])[where[-1]] = value
        elif locations:
            where = draw(st.sampled_from(locations))
            _at(payload, where[:-1])[where[-1]] = draw(_values)
    return uri, payload


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated())
def test_engines_agree_on_mutated_examples(
    fast_engine: ValidationEngine, slow_engine: ValidationEngine, case: tuple[str, Any]
) -> None:
    uri, payload = case
    fast, slow = fast_engine.validator(uri), slow_engine.validator(uri)
    clean = fast.is_clean(payload)
    assert clean == slow.is_clean(payload), json.dumps(payload, ensure_ascii=False)[:500]
    result = fast.validate(payload)
    assert result == slow.validate(payload)
    # What the yes/no path rejects, the explainer must explain (and only that).
    assert bool(result.errors or result.drift) == (not clean)


def test_trailing_newline_fails_pattern_on_both_paths(
    fast_engine: ValidationEngine, slow_engine: ValidationEngine
) -> None:
    payload = _example("twilio-conversations", "onMessageAdd")
    payload["AccountSid"] += "\n"
    uri = _CATALOGUE.provider("twilio-conversations").event("onMessageAdd").request
    assert not fast_engine.validator(uri).is_clean(payload)
    assert not slow_engine.validator(uri).is_clean(payload)
    result = validate(payload, provider="twilio-conversations")
    assert _kinds(result.errors) == [("$.AccountSid", "pattern")]


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.1Z",
        "2021-08-10T18:00:58.123456789Z",  # Twilio: nanoseconds
        "2024-01-01T00:00:00.000000000000001Z",
        "2024-01-01t00:00:00z",
        "2024-01-01T00:00:00+05:30",
        "2024-01-01T00:00:00-08:00",
        "2024-01-01T23:59:59.5+23:59",
        "2024-02-29T12:00:00Z",
        "2016-12-31T23:59:60Z",  # leap second
    ],
)
def test_date_time_accepts(value: str) -> None:
    assert is_date_time(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2024-01-01",
        "2024-01-01T00:00:00",  # no offset
        "2024-01-01 00:00:00Z",
        "2024-01-01T00:00Z",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00,5Z",
        "2024-01-01T00:00:00+0530",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+05:60",
        "2023-02-29T00:00:00Z",  # not a leap year
        "2024-04-31T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:60:00Z",
        "2024-01-01T00:00:61Z",
        "24-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z\n",  # fixed: `$` matched before a trailing newline
        " 2024-01-01T00:00:00Z",
        "\u0662\u0660\u0662\u0664-01-01T00:00:00Z",  # fixed: non-ASCII digits
        "1711390200",
    ],
)
def test_date_time_rejects(value: str) -> None:
    assert not is_date_time(value)


@pytest.mark.parametrize(
    "value",
    ["https://example.com", "https://example.com/a/b?c=d#e", "http://localhost:8080/hook",
     "HTTPS://EXAMPLE.COM/", "urn:isbn:0451450523", "mailto:jane@example.com",
     "file:///tmp/x", "wss://example.com/socket"],
)
def test_uri_accepts(value: str) -> None:
    assert is_uri(value)


@pytest.mark.parametrize(
    "value",
    ["", "example.com/x", "/relative/path", "//example.com/x", "https://", "http:///path",
     "https://exa mple.com", "https://example.com/\n", "1http://example.com", "a:",
     "not a uri"],
)
def test_uri_rejects(value: str) -> None:
    assert not is_uri(value)


@pytest.mark.parametrize(
    "value", ["jane@example.com", "a.b+tag@sub.example.co.uk", "x@y.io", "j\u00f6rg@b\u00fccher.de"]
)
def test_email_accepts(value: str) -> None:
    assert is_email(value)


@pytest.mark.parametrize(
    "value",
    ["", "jane", "jane@", "@example.com", "jane@example", "ja ne@example.com",
     "a@b@example.com", "jane@example.com\n", "jane@exa mple.com"],
)
def test_email_rejects(value: str) -> None:
    assert not is_email(value)


@pytest.mark.parametrize(
    ("value", "is_object", "is_array"),
    [
        ("{}", True, False),
        ('{"a": [1, {"b": null}]}', True, False),
        (' {"a":1}\n', True, False),  # JSON text may be surrounded by whitespace
        ("[]", False, True),
        ('[{"Sid":"ME1"}]', False, True),
        ("null", False, False),
        ("1", False, False),
        ('"{}"', False, False),
        ("{", False, False),
        ("{'a': 1}", False, False),
        ("", False, False),
        ("not json", False, False),
        ("NaN", False, False),
    ],
)
def test_json_text_formats(value: str, is_object: bool, is_array: bool) -> None:
    assert is_json_object_text(value) is is_object
    assert is_json_array_text(value) is is_array


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_formats_ignore_non_strings(name: str) -> None:
    # A format asserts something of strings only; other types are the `type` keyword's business.
    values: tuple[object, ...] = (None, 1, 1.5, True, [], {})
    for value in values:
        assert FORMATS[name](value) is True
    assert FORMATS[name]("(\u0000 surely not valid") is False


def test_format_functions_are_used_by_both_paths(
    fast_engine: ValidationEngine, slow_engine: ValidationEngine
) -> None:
    payload = _example("varda", "message.created")
    payload["timestamp"] = "2024-02-30T00:00:00Z"  # matches a naive regex, not a real date
    uri = _CATALOGUE.provider("varda").event("message.created").request
    assert not fast_engine.validator(uri).is_clean(payload)
    assert not slow_engine.validator(uri).is_clean(payload)
    payload["timestamp"] = "2024-02-29T00:00:00.123456789-03:00"
    assert fast_engine.validator(uri).is_clean(payload)
    assert slow_engine.validator(uri).is_clean(payload)
