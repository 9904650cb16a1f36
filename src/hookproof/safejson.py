"""JSON from the outside world (files, answers, probes), parsed within limits.

``json.loads`` raises RecursionError on a document nested thousands deep and ValueError on an
integer of more than 4,300 digits; what is parsed is then walked recursively by validation.
:func:`loads` turns every such input into one :class:`~hookproof.errors.InputError` line: no
payload, answer or file hookproof reads is nested deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import decimal
import json
import stat
from pathlib import Path
from typing import Any

from hookproof.errors import InputError

MAX_DEPTH = 64
"""Nesting accepted in any JSON hookproof reads (contracts nest about ten deep)."""


MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest input file read whole (a HAR, a JSON payload, an OpenAPI document, a listen
record): parsing one costs several times its size in memory, so a 300 MB HAR would need
gigabytes. Larger captures go in JSONL, which is read a line at a time."""


def read_file(path: Path, what: str) -> bytes:
    """The bytes of a regular file (a FIFO or a device would block or never end); one
    :class:`InputError` line for anything else."""
    name = check_regular(path, what)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def check_regular(path: Path, what: str, *, limit: int | None = MAX_FILE_BYTES) -> str:
    """``path``'s name for messages, if it is a regular file of at most ``limit`` bytes;
    one :class:`InputError` line otherwise."""
    name = f"{what} {path}".strip()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{name}: not a regular file (a pipe or a device is not read)")
    if limit is not None and info.st_size > limit:
        raise InputError(f"{name}: {info.st_size:,} bytes, over the {limit // (1024 * 1024)} "
                         "MiB read whole (give a capture as JSONL, read a line at a time)")
    return name


try:  # the fastest decoder available; json decides whatever it refuses
    import orjson as _orjson

    _ORJSON_ERROR: type[Exception] = _orjson.JSONDecodeError
    _fast_loads: Any = _orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency; json alone is correct
    _ORJSON_ERROR = ValueError
    _fast_loads = json.loads


def decode(text: str | bytes) -> Any:
    """``json.loads(text)``, faster: orjson decodes what it can, and whatever it refuses
    (``NaN``, integers beyond 64 bits, which ``json`` accepts) is decoded, or refused, by
    ``json`` itself, so the outcome is always what ``json.loads`` gives."""
    try:
        return _fast_loads(text)
    except _ORJSON_ERROR:
        return json.loads(text)


def shallow(text: str | bytes) -> bool:
    """Whether JSON ``text`` cannot nest deeper than :data:`MAX_DEPTH`: every level opens a
    bracket, so fewer brackets than that settle it without walking the document."""
    if isinstance(text, str):
        return text.count("{") + text.count("[") <= MAX_DEPTH
    return text.count(b"{") + text.count(b"[") <= MAX_DEPTH


def depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 0), measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


_INT_DIGITS = 4000
"""Python's ``int()`` refuses more than 4,300 digits; a longer JSON integer is still JSON."""


def _integer(text: str) -> int | decimal.Decimal:
    """A JSON integer: an ``int``, or past :data:`_INT_DIGITS` digits a ``Decimal`` (a number
    still, which the contract then judges: a 900,000-digit ``friendlyName`` is not a
    string)."""
    return int(text) if len(text) <= _INT_DIGITS else decimal.Decimal(text)


def loads(text: str | bytes, *, what: str = "JSON") -> Any:
    """Parse ``text``; :class:`InputError` (one line) when it is not JSON or is too deep."""
    try:
        document = json.loads(text, parse_int=_integer)
    except RecursionError:
        raise InputError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, UnicodeDecodeError) as exc:  # 5,000-digit integers, bad UTF-8
        raise InputError(f"not usable JSON ({str(exc).splitlines()[0][:120]})") from None
    if depth(document) > MAX_DEPTH:
        raise InputError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
    return document


__all__ = ["MAX_DEPTH", "depth", "loads", "read_file"]
