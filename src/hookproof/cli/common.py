"""What the commands share: exit codes and argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from hookproof.errors import UsageError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2

Handler = Callable[[argparse.Namespace], int]

MAX_COPIES = 1000
"""Copies ``hookproof send --duplicate`` sends at most."""


def copies(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
    if count > MAX_COPIES:
        raise argparse.ArgumentTypeError(f"at most {MAX_COPIES} copies, got {count}")
    return count


def _whole(text: str, what: str, low: int, high: int, out_of_range: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not {what}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(out_of_range.format(value=value))
    return value


def port(text: str) -> int:
    return _whole(text, "a port number", 0, 65535, "{value} is not a port (0 to 65535)")


def mebibytes(text: str) -> int:
    """A size in MiB, 1 to 65536."""
    return _whole(text, "a whole number of MiB", 1, 65536, "{value} MiB: give 1 to 65536")


def db_file(text: str) -> str:
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file path")
    return text


def secret_from(variable: str) -> str:
    import os

    from hookproof.reach.settings import check_env_name

    check_env_name(variable)
    value = os.environ.get(variable, "")
    if not value:
        raise UsageError(f"--secret-env {variable}: the environment variable is "
                         f"{'empty' if variable in os.environ else 'unset'}")
    return value
