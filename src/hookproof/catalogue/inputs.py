"""Reading payloads from files: a JSON document, a raw form body, or JSONL (one a line)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookproof import safejson
from hookproof.errors import InputError
from hookproof.transport.encoding import decode_form

if TYPE_CHECKING:
    from hookproof.catalogue.loading import Provider

JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(slots=True)  # not frozen: a frozen init costs a quarter of a clean record's time
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
        from hookproof.catalogue.locate import line_of, value_lines

        return line_of(value_lines(self.text), parts)


def read_records(path: Path, encoding: str) -> Iterator[Record]:
    """Yield the payloads of ``path`` for a provider of the given encoding (json or form).

    A whole file that cannot be read raises InputError; a bad line of a JSONL file is yielded
    as a record with a ``problem`` so that the rest of an archive is still checked.
    """
    name = str(path)
    if path.suffix.lower() in JSONL_SUFFIXES:
        # an archive is read a line at a time: memory stays flat whatever its size
        safejson.check_regular(path, "", limit=None)
        try:
            with path.open("rb") as handle:
                yield from _jsonl(name, _lines(handle))
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
        return
    raw = safejson.read_file(path, "")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
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


MAX_LINE_BYTES = 64 * 1024 * 1024
"""The longest JSONL record read; a longer line is reported unusable, not held in memory."""


def _lines(handle: Any) -> Iterator[str | None]:
    """The lines of a binary file as text (None: a line that is not UTF-8 or too long)."""
    first = True
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line unread
                raw = handle.readline(MAX_LINE_BYTES)
            yield None
            continue
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield None


def _jsonl(name: str, lines: Iterable[str | None]) -> Iterator[Record]:
    loads = safejson.decode
    shallow = safejson.shallow
    for number, line in enumerate(lines, start=1):
        if line is None:
            yield Record(name, number, problem="not UTF-8 text, or over "
                         f"{MAX_LINE_BYTES // (1024 * 1024)} MiB")
            continue
        if not line.strip():
            continue
        try:
            payload = loads(line)
        except json.JSONDecodeError as exc:
            yield Record(name, number, problem=f"not JSON ({exc.msg})")
            continue
        except (RecursionError, ValueError):
            payload = _UNUSABLE
        if payload is _UNUSABLE or (not shallow(line)
                                    and safejson.depth(payload) > safejson.MAX_DEPTH):
            try:
                safejson.loads(line, what="the record")
                problem = f"the record is nested too deeply (more than {safejson.MAX_DEPTH})"
            except InputError as exc:
                problem = str(exc)
            yield Record(name, number, problem=problem)
            continue
        yield Record(name, number, payload)


_UNUSABLE = object()


def read_payload(provider: Provider, path: Path) -> Any:
    """One payload a person wrote (``--data``, ``hookproof_deliver(payload=path)``): JSON, or for a
    form provider a raw form body or a JSON object of parameters."""
    raw = safejson.read_file(path, "--data")
    if not raw.strip():
        raise InputError(f"--data {path}: the file is empty")
    document: Any = None
    json_error: str | None = None
    try:
        document = safejson.loads(raw, what="the payload")
    except InputError as exc:
        json_error = str(exc)
    parsed_json = json_error is None
    if provider.transport.encoding == "json":
        if not parsed_json:
            raise InputError(f"--data {path}: {json_error}")
        return document
    if parsed_json:
        if not isinstance(document, Mapping):
            raise InputError(f"--data {path}: {provider.id} sends form parameters: give a raw "
                             "form body (a=1&b=2) or a JSON object of parameters")
        return dict(document)
    try:
        return decode_form(raw.strip())
    except InputError as exc:
        raise InputError(f"--data {path}: neither JSON nor a form body ({exc})") from None
