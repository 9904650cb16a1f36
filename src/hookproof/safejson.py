"""JSON from the outside world (files, answers, probes), parsed within limits.

``json.loads`` raises RecursionError on a document nested thousands deep and ValueError on an
integer of more than 4,300 digits; what is parsed is then walked recursively by validation.
:func:`loads` turns every such input into one :class:`~hookproof.errors.InputError` line: no
payload, answer or file hookproof reads is nested deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from hookproof.errors import InputError

MAX_DEPTH = 64
"""Nesting accepted in any JSON hookproof reads (contracts nest about ten deep)."""


MAX_FILE_BYTES = 512 * 1024 * 1024
"""The largest input file read whole."""


def read_file(path: Path, what: str) -> bytes:
    """The bytes of a regular file (a FIFO or a device would block or never end); one
    :class:`InputError` line for anything else."""
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
    if info.st_size > MAX_FILE_BYTES:
        raise InputError(f"{name}: over {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


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


def loads(text: str | bytes, *, what: str = "JSON") -> Any:
    """Parse ``text``; :class:`InputError` (one line) when it is not JSON or is too deep."""
    try:
        document = json.loads(text)
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
