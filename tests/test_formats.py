"""The format functions are fast, and exactly what their reference definitions say.

``is_date_time`` checks ranges in its pattern and the calendar only for days 29-31; it must
accept exactly what the definition it replaced accepts (the RFC 3339 shape, then
``datetime()`` with a leap second allowed), or the fast and the explaining validation paths
would disagree with the contracts' history.
"""

from __future__ import annotations

import random
import re
from datetime import datetime

import pytest

from hookproof.catalogue.formats import is_date_time, is_uri

_SHAPE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def reference_date_time(value: str) -> bool:
    match = _SHAPE.fullmatch(value) if value.isascii() else None
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    second = 59 if second == 60 else second
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    offset = match.group(8)
    if offset not in ("Z", "z"):
        return int(offset[1:3]) <= 23 and int(offset[4:6]) <= 59
    return True


EDGES = [
    "2021-08-10T18:00:58.111Z", "2021-08-10t18:00:58z", "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
    "2021-04-31T00:00:00Z", "2021-12-31T23:59:60Z", "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+23:59", "2021-01-01T24:00:00Z", "2021-01-01T00:60:00Z",
    "2021-01-01T00:00:61Z", "2021-00-10T00:00:00Z", "2021-13-10T00:00:00Z",
    "2021-01-00T00:00:00Z", "2021-01-32T00:00:00Z", "2021-01-01T00:00:00+24:00",
    "2021-01-01T00:00:00+05:60", "2021-01-01T00:00:00Z\n", "2021-01-01 00:00:00Z",
    "2021-01-01T00:00:00", "２０２１-01-01T00:00:00Z", "2021-01-01T00:00:00.Z", "",
]


@pytest.mark.parametrize("value", EDGES)
def test_date_time_edges_match_the_reference(value: str) -> None:
    assert is_date_time(value) == reference_date_time(value)


def test_date_time_matches_the_reference_on_random_values() -> None:
    rng = random.Random(20261201)
    accepted = 0
    for _ in range(50_000):
        value = (f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-"
                 f"{rng.randint(0, 32):02d}{rng.choice('Tt ')}{rng.randint(0, 25):02d}:"
                 f"{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}"
                 f"{rng.choice(['', '.5', '.123456789'])}"
                 f"{rng.choice(['Z', 'z', '+05:30', '-24:00', '+23:60', '+00:00', ''])}")
        assert is_date_time(value) == reference_date_time(value), value
        accepted += is_date_time(value)
    assert 5_000 < accepted < 45_000  # both outcomes were exercised


@pytest.mark.parametrize(("value", "expected"), [
    ("https://example.com/x", True), ("http://a b", False), ("urn:isbn:1", True),
    ("https://", False), ("x:\u00a0y", False), ("relative/path", False),
])
def test_uri(value: str, expected: bool) -> None:
    assert is_uri(value) is expected
