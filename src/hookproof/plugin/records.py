"""A check's record: what it found, built on the test item and carried to the controller.

Under pytest-xdist each check runs in a worker; its record (outcome, severity, failure,
latencies, platform calls) travels as JSON in the report's ``user_properties``, scrubbed of
the secret, and the controller's session collects it. The outcome is the one the check
recorded for itself (:class:`~hookproof.checks.verdict.Outcome`), never read from a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hookproof.plugin.stash_keys import record_key

PROPERTY = "hookproof"
"""The name of the report property that carries a record."""


def case_of(item: pytest.Item) -> Any:
    """The hookproof case ``item`` runs, or None for any other test."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("hookproof_check") if callspec is not None else None


def attach(item: pytest.Item, report: pytest.TestReport, case: Any) -> None:
    """Build the record of ``case`` from what its check stashed on ``item`` and put it in
    ``report``'s properties (the failure's text becomes the report's ``longrepr``)."""
    from hookproof.scrub import scrub_data

    ran = item.stash.get(record_key, None)  # None: pytest stopped the check before it ran
    failure = ran.failure if ran is not None else None
    if failure is not None and report.failed:
        report.longrepr = str(failure)
    record = {
        "provider": case.provider.id,
        "event": case.event_name,
        "check": case.check.id,
        "severity": failure.severity if failure is not None else case.check.severity,
        "outcome": _outcome(ran, report),
        "failure": failure.as_dict() if failure is not None else None,
        "baselined": ran is not None and ran.baselined,  # the engine's baseline rule
        "latencies_ms": ran.latencies_ms if ran is not None else [],
        "platform_calls": ran.platform_calls if ran is not None else [],
    }
    if report.skipped and not hasattr(report, "wasxfail"):
        record["reason"] = _skip_reason(report)
    elif report.failed and failure is None:
        # the check itself crashed: a failure without details, never a silent pass
        crash = getattr(report.longrepr, "reprcrash", None)
        record["reason"] = f"error: {getattr(crash, 'message', 'the check crashed')}"
    report.user_properties.append((PROPERTY, json.dumps(scrub_data(record))))


def records(report: pytest.TestReport) -> Iterator[dict[str, Any]]:
    """The records ``report`` carries (in the controller, from any worker)."""
    for name, value in report.user_properties:
        if name == PROPERTY:
            yield json.loads(str(value))


def _outcome(ran: Any, report: pytest.TestReport) -> str:
    """The outcome the engine recorded (carried as data, never read from a message); a check
    that crashed is a failure, and one pytest skipped before it ran is skipped."""
    from hookproof.checks.verdict import Outcome

    if ran is not None:
        return str(ran.outcome.value)
    return Outcome.FAIL.value if report.failed else Outcome.SKIPPED.value


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")
