"""Where in a JSON document a value is: the line of each path, for ``file:line:`` messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, not typed

Location = tuple[str | int, ...]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")  # as json.loads


class _Scanner:
    """Walks JSON text (already known to parse) and records the line each value starts on."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: dict[Location, int] = {}
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def _line(self, offset: int) -> int:
        low, high = 0, len(self._newlines)
        while low < high:  # newlines before offset
            middle = (low + high) // 2
            if self._newlines[middle] < offset:
                low = middle + 1
            else:
                high = middle
        return low + 1

    def _skip(self, offset: int) -> int:
        match = _WHITESPACE.match(self.text, offset)
        return match.end() if match else offset

    def value(self, offset: int, path: Location) -> int:
        offset = self._skip(offset)
        self.lines[path] = self._line(offset)
        char = self.text[offset]
        if char == "{":
            return self._object(offset + 1, path)
        if char == "[":
            return self._array(offset + 1, path)
        if char == '"':
            return int(scanstring(self.text, offset + 1)[1])
        for literal in _LITERALS:
            if self.text.startswith(literal, offset):
                return offset + len(literal)
        match = _NUMBER.match(self.text, offset)
        if match is None:
            raise ValueError(f"unexpected {char!r} at {offset}")
        return match.end()

    def _object(self, offset: int, path: Location) -> int:
        offset = self._skip(offset)
        if self.text[offset] == "}":
            return offset + 1
        while True:
            offset = self._skip(offset)
            key, offset = scanstring(self.text, offset + 1)
            offset = self._skip(offset) + 1  # the colon
            offset = self._skip(self.value(offset, (*path, key)))
            if self.text[offset] == "}":
                return offset + 1
            offset += 1  # the comma

    def _array(self, offset: int, path: Location) -> int:
        offset = self._skip(offset)
        if self.text[offset] == "]":
            return offset + 1
        index = 0
        while True:
            offset = self._skip(self.value(offset, (*path, index)))
            index += 1
            if self.text[offset] == "]":
                return offset + 1
            offset += 1


def value_lines(text: str) -> dict[Location, int]:
    """Line (1-based) on which each value of the JSON document ``text`` starts, by path."""
    scanner = _Scanner(text)
    try:
        scanner.value(0, ())
    except (ValueError, IndexError):
        return scanner.lines  # what was found so far; the caller falls back to line 1
    return scanner.lines


def line_of(lines: dict[Location, int], parts: Sequence[str | int]) -> int:
    """The line of ``parts``, or of its nearest ancestor present (a missing field's parent)."""
    location = tuple(parts)
    while location:
        if location in lines:
            return lines[location]
        location = location[:-1]
    return lines.get((), 1)
