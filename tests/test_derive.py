"""Examples derived from a contract, and formats as JSON Schema 2020-12 says.

A team's provider whose schemas give no example gets one derived (valid, deterministic), plus
the variants the bundled fixtures hold as files (minimal, nulls, a required field missing), so
that it gets the same per-event checks. A format nobody defines is ignored (and counted); the
standard ones are checked; OpenAPI's ``int64`` and a provider's own formats are ranges.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookproof.catalogue.derive import DeriveError, from_pattern
from hookproof.catalogue.formats import FORMATS

MANIFEST = """
    id: shop
    title: Shop
    transport: {encoding: json, methods: [POST], content_type: application/json}
    signature: {scheme: hmac, header: X-Shop-Signature}
    dedupe_header: X-Shop-Delivery
    replay_window: null
    timeout_budget: 10
    event_name: {fields: [topic]}
    formats:
      sku: {pattern: "^SKU-[0-9]{4}$"}
    events:
      - {name: order.paid, kind: post, request: events/order.paid.json}
"""

ORDER = {
    "type": "object", "required": ["topic", "id", "total", "placed_on", "sku"],
    "properties": {
        "topic": {"type": "string"},
        "id": {"type": "integer", "format": "int64"},
        "total": {"type": "number", "minimum": 0, "exclusiveMaximum": 1000},
        "placed_on": {"type": "string", "format": "date"},
        "sku": {"type": "string", "format": "sku"},
        "colour": {"type": "string", "format": "colour-name"},
        "note": {"type": ["string", "null"], "maxLength": 8},
        "customer": {"anyOf": [{"type": "object", "required": ["email"],
                                "properties": {"email": {"type": "string",
                                                         "format": "email"}}},
                               {"type": "null"}]},
        "lines": {"type": "array", "minItems": 1,
                  "items": {"type": "object", "required": ["code"],
                            "properties": {"code": {"type": "string",
                                                    "pattern": "^[A-Z]{2}[0-9a-f]{6}$"}}}},
    },
}


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue
    from hookproof.catalogue.examples import invalid_examples, valid_examples

    folder = tmp_path / "contracts" / "shop"
    (folder / "events").mkdir(parents=True)
    (folder / "manifest.yaml").write_text(textwrap.dedent(MANIFEST).lstrip())
    (folder / "events" / "order.paid.json").write_text(json.dumps(ORDER))
    monkeypatch.setenv(CONTRACTS_VARIABLE, str(tmp_path / "contracts"))
    for cached in (load_catalogue, valid_examples, invalid_examples):
        cached.cache_clear()
    yield folder
    monkeypatch.undo()
    for cached in (load_catalogue, valid_examples, invalid_examples):
        cached.cache_clear()


def _validate(payload: Any) -> Any:
    from hookproof.catalogue.validation import validate

    return validate(payload, provider="shop", event="order.paid")


def test_an_event_without_examples_gets_derived_ones_that_validate(shop: Path) -> None:
    from hookproof.catalogue.examples import (
        canonical_example,
        example_named,
        invalid_examples,
        is_derived,
    )

    canonical = canonical_example("shop", "order.paid")
    assert canonical.name == "derived.json" and is_derived(canonical)
    assert canonical.payload["topic"] == "order.paid"  # the field that names the event
    assert re.fullmatch(r"SKU-\d{4}", canonical.payload["sku"])
    for name in ("derived", "minimal", "maximal-nulls"):
        example = example_named("shop", "order.paid", name)
        assert example is not None, name
        result = _validate(example.payload)
        assert result.ok and not result.drift, (name, result)
    minimal = example_named("shop", "order.paid", "minimal")
    assert minimal is not None and set(minimal.payload) == set(ORDER["required"])
    nulls = example_named("shop", "order.paid", "maximal-nulls")
    assert nulls is not None and nulls.payload["note"] is None
    assert nulls.payload["customer"] is None
    [missing] = invalid_examples("shop", "order.paid")
    assert missing.rule == "required" and missing.path == "$.id"
    assert any(e.message == "required field 'id' is missing"
               for e in _validate(missing.payload).errors)


def test_derivation_is_deterministic(shop: Path) -> None:
    from hookproof.catalogue import load_catalogue
    from hookproof.catalogue.derive import derive_valid
    from hookproof.catalogue.validation import engine_for

    catalogue = load_catalogue()
    shop_provider = catalogue.provider("shop")
    uri = shop_provider.event("order.paid").request
    first = derive_valid(engine_for(catalogue), shop_provider, "order.paid", uri,
                         minimal=False, seed=3)
    again = derive_valid(engine_for(catalogue), shop_provider, "order.paid", uri,
                         minimal=False, seed=3)
    assert first == again


def test_formats_follow_the_specification(shop: Path) -> None:
    from hookproof.catalogue.examples import canonical_example

    good = canonical_example("shop", "order.paid").payload
    assert _validate({**good, "colour": "not a format anyone defines"}).ok  # ignored
    too_big = _validate({**good, "id": 2**63})  # int64: a range
    assert [e.path for e in too_big.errors] == ["$.id"]
    assert _validate({**good, "id": -(2**63)}).ok
    bad_date = _validate({**good, "placed_on": "2026-02-30"})  # date: standard, checked
    assert [e.path for e in bad_date.errors] == ["$.placed_on"]
    bad_sku = _validate({**good, "sku": "SKU-12"})  # the provider's own format
    assert [e.path for e in bad_sku.errors] == ["$.sku"]


def test_list_counts_the_formats_nobody_defines(shop: Path) -> None:
    listed = subprocess.run([sys.executable, "-m", "hookproof.cli", "--contracts",
                             str(shop.parent), "list", "--provider", "shop"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env=dict(os.environ))
    assert listed.returncode == 0, listed.stderr
    assert "formats nothing defines, ignored as JSON Schema says: colour-name (1)" in (
        listed.stdout)


def test_a_contract_no_example_can_be_derived_for_is_a_catalogue_error(
        shop: Path, tmp_path: Path) -> None:
    impossible = {**ORDER, "properties": {**ORDER["properties"],
                                          "id": {"type": "string", "minLength": 5,
                                                 "maxLength": 2}}}
    (shop / "events" / "order.paid.json").write_text(json.dumps(impossible))
    env = dict(os.environ, SHOP_SECRET="s3cret-value", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "hookproof.plugin", "-q",
                          "-p", "no:cacheprovider", "--contracts", str(shop.parent),
                          "--target-url", "http://127.0.0.1:9/shop", "--provider", "shop",
                          "--secret-env", "SHOP_SECRET"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "order.paid.json: no valid example could be derived" in run.stderr, run.stderr
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize("pattern", [
    r"^[A-Z]{2}[0-9a-fA-F]{32}$", r"^(?:push|pull_request)(\.[a-z_]+)?$", r"\d{3}-\d{4}",
    r"^[^@\s]+@example\.com$", r"^v[0-9]+\.[0-9]+\.[0-9]+(-[a-z]+)?$", r"^(a|b)+c?$",
    r"^[\w.-]+/[\w.-]+$", r"^\S+$", r"^(?!x)[a-z]{3}$", r"^([ab])\1$",
])
def test_derived_strings_match_their_pattern(pattern: str) -> None:
    for seed in range(5):
        assert re.search(pattern, from_pattern(pattern, random.Random(seed)))


def test_a_pattern_nothing_matches_is_refused() -> None:
    with pytest.raises(DeriveError):
        from_pattern(r"^a(?=b)c$", random.Random(0))


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("date", "2024-02-29", "2023-02-29"),
    ("time", "09:30:00Z", "25:00:00Z"),
    ("duration", "P1DT2H", "P"),
    ("hostname", "api.example.com", "-bad-.example"),
    ("ipv4", "192.0.2.1", "256.1.1.1"),
    ("ipv6", "2001:db8::1", "2001:db8::g"),
    ("uuid", "0b989ba4-242f-11e5-81e1-c7b6966d2516", "0b989ba4-242f-11e5-81e1"),
    ("uri-template", "https://api.github.com/repos/{owner}/{repo}{/number}",
     "https://example.com/{unclosed"),
    ("uri-reference", "/items/1?x=%20", "/items/%zz"),
    ("json-pointer", "/a~1b/0", "a/b"),
    ("relative-json-pointer", "1/a", "-1"),
    ("regex", "^[a-z]+$", "(unclosed"),
])
def test_the_standard_formats_are_checked(name: str, good: str, bad: str) -> None:
    assert FORMATS[name](good) and not FORMATS[name](bad)
