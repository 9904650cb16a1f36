"""The verdict: one outcome type for every check, and the one place that decides whether a
failure fails the run and whether a target (or a run) is conformant.

A check's outcome is decided where it is known (the check ran and passed or failed; a part of
it could not be observed; its target could not be tested; it does not apply) and carried as
data from there through pytest-xdist to the reports: nothing reads an outcome back out of a
message. ``send`` and ``listen`` grade with the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_OBSERVED = "not_observed"
    """Part of the check could not be observed (no effects probe): never a pass."""
    NOT_RUN = "not_run"
    """The target could not be tested (down, crashed and gone): never a pass, and the run is
    not conformant."""
    SKIPPED = "skipped"
    """The check does not apply to this target as given, or the user deselected it."""


OUTCOMES: tuple[str, ...] = tuple(outcome.value for outcome in Outcome)


def blocking(severity: str, *, strict: bool, baselined: bool = False) -> bool:
    """Whether a failure of ``severity`` fails the run: a required one does, a recommended one
    only with ``--hookproof-strict``, and a baselined one never."""
    return not baselined and (severity == "required" or strict)


def target_conformant(summary: Mapping[str, Any], *, strict: bool) -> bool:
    """A target is conformant when no failure blocks and every check could be run."""
    return int(summary["fail_required"]) + int(summary.get("not_run", 0)) + (
        int(summary["fail_recommended"]) if strict else 0) == 0


def conformant(targets: Iterable[Mapping[str, Any]], *, strict: bool) -> bool:
    """A run is conformant when every target is."""
    return all(target_conformant(t["summary"], strict=strict) for t in targets)


__all__ = ["OUTCOMES", "Outcome", "blocking", "conformant", "target_conformant"]
