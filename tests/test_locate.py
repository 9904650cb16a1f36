"""Finding the line of a value in a JSON document, for `file:line:` messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookproof.catalogue.locate import Location, line_of, value_lines
from hookproof.cli import main

DOCUMENT = """{
  "event": "call.ended",
  "data": {
    "id": 42,
    "tags": [
      "a",
      {"deep": [1, 2]}
    ],
    "empty": {},
    "none": null
  }
}"""


def paths(value: Any, prefix: Location = ()) -> Iterator[Location]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def test_each_value_is_on_its_line() -> None:
    lines = value_lines(DOCUMENT)
    assert lines[()] == 1
    assert lines[("event",)] == 2
    assert lines[("data",)] == 3
    assert lines[("data", "id")] == 4
    assert lines[("data", "tags")] == 5
    assert lines[("data", "tags", 0)] == 6
    assert lines[("data", "tags", 1, "deep", 1)] == 7
    assert lines[("data", "empty")] == 9
    assert lines[("data", "none")] == 10


def test_a_missing_field_is_placed_on_its_parent() -> None:
    lines = value_lines(DOCUMENT)
    assert line_of(lines, ("data", "duration_seconds")) == 3
    assert line_of(lines, ("nothing", "here")) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_every_path_is_found(document: Any) -> None:
    pretty = json.dumps(document, indent=2, ensure_ascii=False)
    lines = value_lines(pretty)
    assert set(lines) == set(paths(document))
    assert all(1 <= line <= pretty.count("\n") + 1 for line in lines.values())
    assert set(value_lines(json.dumps(document)).values()) <= {1}


def test_validate_reports_the_line_of_the_value(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    payload = {"event": "contact.created", "timestamp": "2026-03-25T18:30:00Z",
               "data": {"id": "456", "name": "Jane", "nickname": "J"}}
    file = tmp_path / "contact.json"
    file.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    assert main(["validate", str(file), "--provider", "varda"]) == 1
    out = capsys.readouterr().out
    assert f"{file}:5: $.data.id: \"456\" is not of type 'integer' [type]" in out
    assert f"{file}:7: $.data.nickname: unknown field 'nickname'" in out
