"""The suite's engine, with no pytest in it: one case run against one target under one policy,
and its record.

A :class:`Record` holds everything that is decided about a check: its outcome, its finding,
whether the finding is baselined and whether it fails the run (the rules of
:mod:`hookproof.checks.verdict`), and what the check's deliveries cost (latencies, calls to
the platform). The pytest plugin only maps a record onto pytest's outcomes (pass, skip, xfail,
fail) and carries it across pytest-xdist; it decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hookproof.checks.base import Case, run
from hookproof.checks.failures import CheckFailure, NotApplicable, NotObserved
from hookproof.checks.verdict import Outcome, blocking
from hookproof.reach.target import Target, TargetUnavailable


def case_key(case: Case) -> str:
    """How a case is named in a baseline file: ``provider/event/check``."""
    return f"{case.provider.id}/{case.event_name or '(provider)'}/{case.check.id}"


@dataclass(frozen=True)
class Policy:
    """What decides whether a failure fails the run: ``--hookproof-strict`` (recommended
    findings count) and the baseline (known failures that do not, yet)."""

    strict: bool = False
    baseline: frozenset[str] = frozenset()
    baseline_update: bool = False
    """Writing a new baseline: every failure found now is a known one."""

    def baselined(self, case: Case) -> bool:
        return self.baseline_update or case_key(case) in self.baseline


@dataclass(frozen=True)
class Record:
    """One case's result."""

    case: Case
    outcome: Outcome
    reason: str = ""
    """Why it did not pass or fail: ``not run: ...``, ``not observed: ...``, ``not
    applicable: ...``."""
    failure: CheckFailure | None = None
    baselined: bool = False
    blocks: bool = False
    """Whether this result fails the run under the policy."""
    latencies_ms: list[tuple[str, float]] = field(default_factory=list)
    platform_calls: list[list[str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return case_key(self.case)


def run_case(case: Case, target: Target, policy: Policy) -> Record:
    """Run ``case`` against ``target``: its record, whatever happened (a check that crashes
    with an unexpected error is the caller's to report; nothing here turns it into a pass)."""
    start = len(target.exchanges)
    outcome, reason = Outcome.PASS, ""
    failure: CheckFailure | None = None
    try:
        target.check_available(case.event)
        with target.platform_active():
            run(case, target)
    except TargetUnavailable as exc:
        outcome, reason = Outcome.NOT_RUN, f"not run: {exc}"
    except NotObserved as exc:
        outcome, reason = Outcome.NOT_OBSERVED, f"not observed: {exc}"
    except NotApplicable as exc:
        outcome, reason = Outcome.SKIPPED, f"not applicable: {exc}"
    except CheckFailure as found:
        outcome, failure = Outcome.FAIL, found
    sent: list[Any] = target.exchanges[start:]
    baselined = failure is not None and policy.baselined(case)
    return Record(
        case, outcome, reason, failure, baselined=baselined,
        # a check not run leaves the run unconformant (the verdict's target rule); here only
        # findings are weighed
        blocks=failure is not None and blocking(failure.severity, strict=policy.strict,
                                                baselined=baselined),
        latencies_ms=[(event, round(exchange.elapsed * 1000, 2))
                      for _, event, exchange in sent if exchange.answered],
        platform_calls=[list(call.route()) for _, _, exchange in sent
                        for call in exchange.platform_calls])


__all__ = ["Policy", "Record", "case_key", "run_case"]
