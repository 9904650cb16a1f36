"""What the Markdown and the HTML report both show, and in which order: the matrix of checks by
events, the failures (required first, baselined last), the totals, the anchors."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

PROVIDER_ROW = "(provider)"
"""The matrix row of checks that run once per provider rather than per event."""
_RANK = {"fail": 4, "not_run": 3, "not_observed": 2, "skipped": 1, "pass": 0}


def verdict_text(report: Mapping[str, Any]) -> str:
    """The run's verdict in words."""
    return "conformant" if report["conformant"] else "NOT conformant"


def target_ok(target: Mapping[str, Any], strict: bool) -> bool:
    """Whether one target's summary is conformant (decided by the verdict, not here)."""
    from hookproof.checks.verdict import target_conformant

    return target_conformant(target["summary"], strict=strict)


def summary_totals(report: Mapping[str, Any]) -> dict[str, int]:
    """The summary counts over every target."""
    keys = ("checks", "pass", "fail", "not_observed", "not_run", "skipped", "fail_required",
            "fail_recommended", "baselined")
    return {k: sum(t["summary"].get(k, 0) for t in report["targets"]) for k in keys}


GROUP_ORDER = ("signature", "payload", "response", "idempotency", "fuzz")
"""Columns of the matrix, in the order a reader checks a receiver: trust first."""


def matrix(target: Mapping[str, Any]) -> tuple[list[str], list[str], dict[tuple[str, str], Any]]:
    """Checks (columns, grouped), events (rows) and the result in each cell.

    Should a cell get several results, the worst outcome is shown.
    """
    checks: list[str] = []
    events: list[str] = []
    cells: dict[tuple[str, str], Any] = {}
    for result in target["results"]:
        event = result["event"] or PROVIDER_ROW
        if result["check"] not in checks:
            checks.append(result["check"])
        if event not in events:
            events.append(event)
        key = (event, result["check"])
        if key not in cells or _RANK[result["outcome"]] > _RANK[cells[key]["outcome"]]:
            cells[key] = result
    seen = list(dict.fromkeys(c.split(".", 1)[0] for c in checks))
    groups = [g for g in GROUP_ORDER if g in seen] + [g for g in seen if g not in GROUP_ORDER]
    checks.sort(key=lambda c: groups.index(c.split(".", 1)[0]))
    if PROVIDER_ROW in events:
        events.remove(PROVIDER_ROW)
        events.append(PROVIDER_ROW)
    return checks, events, cells


def ordered_failures(target: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Required before recommended, baselined last; otherwise in the order they ran."""
    def rank(failure: Mapping[str, Any]) -> tuple[int, int]:
        return (1 if failure.get("baselined") else 0,
                0 if failure["severity"] == "required" else 1)

    return sorted(target["failures"], key=rank)


def slug(raw: str) -> str:
    """``raw`` as an HTML id."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in raw)


def failure_anchor(target: Mapping[str, Any], check: str, event: str | None) -> str:
    """The id of a failure's block in the page."""
    return slug(f"f-{target['name']}-{check}-{event or 'provider'}")


def platform_calls(failure: Mapping[str, Any]) -> list[str]:
    """One line per call the receiver made to the platform while answering (in process)."""
    from hookproof.transport.scope import PlatformCall

    return [PlatformCall(**call).describe() for call in failure.get("platform_calls") or ()]


# -- distinct problems: failures with one root cause, grouped -----------------------------

_VOLATILE = re.compile(r"[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*|[0-9]+(?:\.[0-9]+)?")


def cause_key(failure: Mapping[str, Any]) -> tuple[str, ...]:
    """Failures with one root cause share this: the same check, title, expectation and
    answer (status and body, with ids, times and numbers set aside). A crash is one cause on
    its event, whichever check's delivery it was."""
    if failure.get("crash"):
        return ("crash", str(failure.get("event") or ""), str(failure["title"]).split(" (")[0])
    response = failure.get("response") or {}
    event = str(failure.get("event") or "")

    def shape(text: object) -> str:
        # the event's own name (in "--expect EVENT=4xx", say) is not part of the cause
        plain = str(text or "")
        if event:
            plain = plain.replace(event, "<event>")
        return _VOLATILE.sub("#", plain)
    return (str(failure["check"]), str(failure["severity"]), shape(failure["title"]),
            shape(failure["expected"]), shape(failure["got"]),
            str(response.get("status")), shape(response.get("body_head"))[:200])


def problems(failures: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Distinct problems: failures grouped by :func:`cause_key`, each with its events, in
    the order they first happened; required ones first."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for failure in failures:
        group = groups.setdefault(cause_key(failure),
                                  {"failure": failure, "events": [], "checks": []})
        event = failure.get("event") or "(provider)"
        if event not in group["events"]:
            group["events"].append(event)
        if failure["check"] not in group["checks"]:
            group["checks"].append(failure["check"])
    ordered = list(groups.values())
    ordered.sort(key=lambda g: (bool(g["failure"].get("baselined")),
                                g["failure"]["severity"] != "required"))
    _headlines(ordered)
    return ordered


def _headlines(groups: list[dict[str, Any]]) -> None:
    """Each problem's ``headline``: its title, and where two problems share a title (pre- and
    post-event hooks failing one way each), what tells them apart: what was expected and what
    came back, then the check."""
    def title(group: dict[str, Any]) -> str:
        return str(group["failure"]["title"])

    def answered(group: dict[str, Any]) -> str:
        failure = group["failure"]
        return f"{title(group)}: expected {failure['expected']}, got {failure['got']}"

    for group in groups:
        group["headline"] = title(group)
    for make in (answered, lambda g: f"{answered(g)} [{g['failure']['check']}]"):
        counts: dict[str, int] = {}
        for group in groups:
            counts[group["headline"]] = counts.get(group["headline"], 0) + 1
        for group in groups:
            if counts[group["headline"]] > 1:
                group["headline"] = make(group)
