"""Reading payloads from files: a JSON document, a raw form body, or JSONL (one a line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hookproof import safejson
from hookproof.encoding import decode_form
from hookproof.errors import InputError

JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Record:
    """One payload read from a file, or the reason it could not be read."""

    source: str
    line: int
    payload: Any = None
    problem: str | None = None
    request: Any = None
    """The recorded request (HAR input), to verify its signature; None for payload files."""
    text: str | None = None
    """A whole JSON document's text: findings are then placed on the line of their value."""

    def line_of(self, parts: tuple[str | int, ...]) -> int:
        """The line a finding at ``parts`` is reported on."""
        if self.text is None:
            return self.line
        from hookproof.locate import line_of, value_lines

        return line_of(value_lines(self.text), parts)


def read_records(path: Path, encoding: str) -> Iterator[Record]:
    """Yield the payloads of ``path`` for a provider of the given encoding (json or form).

    A whole file that cannot be read raises InputError; a bad line of a JSONL file is yielded
    as a record with a ``problem`` so that the rest of an archive is still checked.
    """
    name = str(path)
    raw = safejson.read_file(path, "")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    if path.suffix.lower() in JSONL_SUFFIXES:
        yield from _jsonl(name, text)
        return
    stripped = text.strip()
    if encoding == "form" and not stripped.startswith(("{", "[")):
        try:
            yield Record(name, 1, decode_form(stripped))
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        return
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}: not JSON ({exc.msg})") from None
    except (RecursionError, ValueError):
        payload = None
    try:
        payload = safejson.loads(text, what="the document") if payload is None else payload
        if safejson.depth(payload) > safejson.MAX_DEPTH:
            raise InputError(f"the document is nested too deeply (more than "
                             f"{safejson.MAX_DEPTH} levels)")
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    yield Record(name, 1, payload, text=text)


def _jsonl(name: str, text: str) -> Iterator[Record]:
    loads = json.loads
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            payload = loads(line)
        except json.JSONDecodeError as exc:
            yield Record(name, number, problem=f"not JSON ({exc.msg})")
            continue
        except (RecursionError, ValueError):
            payload = _UNUSABLE
        if payload is _UNUSABLE or safejson.depth(payload) > safejson.MAX_DEPTH:
            try:
                safejson.loads(line, what="the record")
                problem = f"the record is nested too deeply (more than {safejson.MAX_DEPTH})"
            except InputError as exc:
                problem = str(exc)
            yield Record(name, number, problem=problem)
            continue
        yield Record(name, number, payload)


_UNUSABLE = object()
