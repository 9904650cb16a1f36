"""The conformance report: one JSON document, rendered to Markdown and HTML.

Built only from per-check records (which travel in pytest report properties, so a run under
pytest-xdist gives the same report as a serial one). ``conformance.json`` validates against
the schema shipped as ``hookproof/reports/report.schema.json``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from hookproof import __version__
from hookproof.checks.verdict import OUTCOMES, conformant

SCHEMA_VERSION = 1



def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 of [1, 2, 3, 4] is 2)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def target_section(
    *,
    name: str,
    provider: Mapping[str, Any],
    url: str | None,
    records: Iterable[Mapping[str, Any]],
    baseline: Iterable[str] = (),
    unavailable: Iterable[str] = (),
    receiver_log: str | None = None,
) -> dict[str, Any]:
    """The report of one target (one provider at one URL) from its check records.

    ``baseline`` holds the known failures (``provider/event/check``) the run was given: an
    entry whose check now passes is reported as stale.

    ``provider`` holds ``id``, ``events`` (names declared) and ``budgets`` (event -> seconds).
    """
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    latencies: dict[str, list[float]] = {}
    calls: dict[tuple[str, str], int] = {}
    for record in records:
        result = {
            "check": record["check"],
            "event": record.get("event"),
            "severity": record["severity"],
            "outcome": record["outcome"],
            "baselined": bool(record.get("baselined")),
        }
        if record.get("reason"):
            result["reason"] = record["reason"]
        results.append(result)
        if record.get("failure"):
            failures.append({**record["failure"], "baselined": result["baselined"]})
        for event, elapsed_ms in record.get("latencies_ms") or ():
            latencies.setdefault(event, []).append(float(elapsed_ms))
        for call, outcome in record.get("platform_calls") or ():
            calls[(call, outcome)] = calls.get((call, outcome), 0) + 1
    declared = list(provider["events"])
    exercised = sorted({r["event"] for r in results if r["event"]} & set(declared),
                       key=declared.index)
    summary = {outcome: sum(1 for r in results if r["outcome"] == outcome)
               for outcome in OUTCOMES}
    summary["checks"] = len(results)
    summary["fail_required"] = sum(1 for r in results if r["outcome"] == "fail"
                                   and r["severity"] == "required" and not r["baselined"])
    summary["fail_recommended"] = sum(1 for r in results if r["outcome"] == "fail"
                                      and r["severity"] == "recommended" and not r["baselined"])
    summary["baselined"] = sum(1 for r in results if r["baselined"])
    budgets = provider.get("budgets") or {}
    extra: dict[str, Any] = {}
    diagnosis = refusal_diagnosis(results, failures)
    if diagnosis:
        extra["diagnosis"] = diagnosis
    passed = {result_key(provider["id"], r) for r in results if r["outcome"] == "pass"}
    stale = sorted(set(baseline) & passed)
    if stale:
        extra["stale_baseline"] = stale
    reasons = sorted(set(unavailable))
    if reasons:
        extra["unavailable"] = reasons
    if receiver_log:
        extra["receiver_log"] = receiver_log
    if calls:
        extra["platform_calls"] = [
            {"call": call, "outcome": outcome, "count": count}
            for (call, outcome), count in sorted(calls.items(), key=lambda c: (-c[1], c[0]))]
    return {
        "name": name,
        "provider": provider["id"],
        "url": url,
        "summary": summary,
        "coverage": {
            "events_declared": len(declared),
            "events_exercised": len(exercised),
            "ratio": round(len(exercised) / len(declared), 4) if declared else 1.0,
        },
        "latency": [
            {
                "event": event,
                "samples": len(latencies[event]),
                "p50_ms": round(percentile(latencies[event], 0.50), 1),
                "p95_ms": round(percentile(latencies[event], 0.95), 1),
                "max_ms": round(max(latencies[event]), 1),
                "budget_ms": round(float(budgets.get(event, 0)) * 1000, 1),
            }
            for event in declared if event in latencies
        ],
        "results": results,
        "failures": failures,
        **extra,
    }


def result_key(provider: str, result: Mapping[str, Any]) -> str:
    """How a result is named in a baseline file: ``provider/event/check``."""
    return f"{provider}/{result.get('event') or '(provider)'}/{result['check']}"


ALL_REFUSED = (
    "every correctly signed delivery was refused, with the answer a forged delivery gets: "
    "the receiver cannot tell genuine deliveries from forged ones. Check the secret (the "
    "variable --secret-env names), the URL the receiver verifies over (--signing-url behind a "
    "proxy or tunnel, and the proxy headers it trusts), that it verifies over the raw body, "
    "and the path (a URL answering 4xx to everything)")


def refusal_diagnosis(results: Sequence[Mapping[str, Any]],
                      failures: Sequence[Mapping[str, Any]]) -> str | None:
    """The run's one-line diagnosis when every correctly signed delivery was refused."""
    valid = [r for r in results if r["check"] == "signature.valid_accepted"]
    refused = [f for f in failures if f.get("check") == "signature.valid_accepted"
               and 400 <= int((f.get("response") or {}).get("status") or 0) < 500]
    if valid and len(refused) == len(valid):
        return ALL_REFUSED
    return None


def document(targets: Sequence[Mapping[str, Any]], *, started: str, duration: float,
             seed: int | None = None, strict: bool = False) -> dict[str, Any]:
    """The whole report of a run over one or several targets."""
    return {
        "schema_version": SCHEMA_VERSION,
        "hookproof_version": __version__,
        "started": started,
        "duration_seconds": round(duration, 3),
        "seed": seed,
        "strict": strict,
        "conformant": conformant(targets, strict=strict),
        "providers": sorted({t["provider"] for t in targets}),
        "targets": list(targets),
    }


def merge(documents: Sequence[Mapping[str, Any]], *, started: str,
          duration: float) -> dict[str, Any]:
    """One report from the reports of several runs (one per target)."""
    targets = [t for d in documents for t in d["targets"]]
    seeds = {d.get("seed") for d in documents} - {None}
    strict = any(d.get("strict") for d in documents)
    return document(targets, started=started, duration=duration,
                    seed=seeds.pop() if len(seeds) == 1 else None, strict=strict)


def schema() -> Any:
    return json.loads(resources.files("hookproof.reports").joinpath("report.schema.json").read_text(
        encoding="utf-8"))


def write(report: Mapping[str, Any], directory: Path) -> dict[str, Path]:
    """Write conformance.json, .md and .html into ``directory``; return their paths."""
    from hookproof.reports.html import render_html
    from hookproof.reports.markdown import render_markdown
    from hookproof.scrub import scrub, scrub_data

    report = scrub_data(dict(report))  # type: ignore[assignment]
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "conformance.json",
        "md": directory / "conformance.md",
        "html": directory / "conformance.html",
    }
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    markdown = scrub(render_markdown(report))
    paths["md"].write_text(markdown, encoding="utf-8")
    paths["html"].write_text(scrub(render_html(report)), encoding="utf-8")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    return paths
