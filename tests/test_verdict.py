"""The verdict layer: what blocks a run, and when a target or a run is conformant."""

from __future__ import annotations

import pytest

from hookproof.checks.verdict import Outcome, blocking, conformant, target_conformant
from hookproof.reports.document import OUTCOMES


def _summary(**counts: int) -> dict[str, int]:
    base = {"fail_required": 0, "fail_recommended": 0, "not_run": 0}
    return {**base, **counts}


@pytest.mark.parametrize(("severity", "strict", "baselined", "blocks"), [
    ("required", False, False, True), ("recommended", False, False, False),
    ("recommended", True, False, True), ("required", False, True, False),
    ("required", True, True, False),
])
def test_what_blocks(severity: str, strict: bool, baselined: bool, blocks: bool) -> None:
    assert blocking(severity, strict=strict, baselined=baselined) is blocks


def test_conformant_targets_and_runs() -> None:
    assert target_conformant(_summary(), strict=False)
    assert target_conformant(_summary(fail_recommended=3), strict=False)
    assert not target_conformant(_summary(fail_recommended=3), strict=True)
    assert not target_conformant(_summary(fail_required=1), strict=False)
    assert not target_conformant(_summary(not_run=1), strict=False)  # never a pass
    targets = [{"summary": _summary()}, {"summary": _summary(not_run=2)}]
    assert not conformant(targets, strict=False)
    assert conformant(targets[:1], strict=False)


def test_the_report_counts_every_outcome() -> None:
    assert OUTCOMES == tuple(o.value for o in Outcome) == (
        "pass", "fail", "not_observed", "not_run", "skipped")
