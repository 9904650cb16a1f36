"""The conformance report in Markdown: it fits a GitHub step summary (at most 1 MiB), with
the distinct problems first, the matrix, and the first failures in full."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from hookproof.reports.outline import (
    PROVIDER_ROW,
    matrix,
    ordered_failures,
    platform_calls,
    summary_totals,
    target_ok,
    verdict_text,
)

SYMBOL = {"pass": "✅", "fail": "❌", "not_observed": "➖", "not_run": "⛔", "skipped": "⏭"}
"""Markdown marks (GitHub renders emoji)."""
MARKDOWN_FAILURES = 30
"""Failures detailed in the Markdown (the HTML has them all)."""
MARKDOWN_PROBLEMS = 50
"""Distinct problems listed at the top of the Markdown (the HTML lists them all)."""
MARKDOWN_LIMIT = 900_000
"""Bytes: a GitHub step summary holds at most 1 MiB per step."""

def _cell_text(result: Mapping[str, Any] | None) -> str:
    if result is None:
        return ""
    mark = SYMBOL.get(result["outcome"], "?")
    if result["outcome"] == "fail" and result["severity"] == "recommended":
        mark = "⚠️"
    if result.get("baselined"):
        mark += "ᵇ"
    return mark


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell or summary line."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _fence(text: str, lang: str = "") -> list[str]:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return [ticks + lang, text, ticks]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report in Markdown, readable in a GitHub step summary: the verdict, then the
    distinct problems with their events, then per target its details (the full matrix, the
    latency table) folded, then the failures."""
    from hookproof.reports.outline import problems

    strict = bool(report.get("strict"))
    totals = summary_totals(report)
    icon = "✅" if report["conformant"] else "❌"
    lines = [f"# {icon} hookproof conformance: {verdict_text(report)}", ""]
    lines.append(
        f"{len(report['targets'])} target(s) · {totals['checks']} checks · "
        f"{totals['fail_required']} required failure(s) · {totals['fail_recommended']} "
        f"recommended · {totals['not_run']} not run · {totals['baselined']} baselined · "
        f"hookproof {report['hookproof_version']} · started {report['started']} · "
        f"{report['duration_seconds']} s"
        + (f" · seed {report['seed']}" if report.get("seed") is not None else "")
        + (" · strict" if strict else ""))
    distinct = [(t, p) for t in report["targets"] for p in problems(t["failures"])]
    lines += ["", f"## {len(distinct)} distinct problem(s)", ""]
    for target, problem in distinct[:MARKDOWN_PROBLEMS]:
        failure = problem["failure"]
        mark = "⚠️" if failure["severity"] == "recommended" else "❌"
        tag = " (baselined)" if failure.get("baselined") else ""
        events = problem["events"]
        checks = problem["checks"]
        more = f" and {len(checks) - 1} other check(s)" if len(checks) > 1 else ""
        rest = f" and {len(events) - 12} more" if len(events) > 12 else ""
        lines.append(f"- {mark} **{_md(problem['headline'])}** — `{_md(failure['check'])}`"
                     f"{more}, {_md(target['name'])}, {len(events)} event(s): "
                     f"{_md(', '.join(events[:12]))}{rest}{tag}")
    if len(distinct) > MARKDOWN_PROBLEMS:
        lines.append(f"- … and {len(distinct) - MARKDOWN_PROBLEMS} more: see conformance.html")
    for target in report["targets"]:
        for reason in target.get("unavailable", ()):
            lines.append(f"- ⛔ **not run**: {_md(reason)}")
    lines += ["", "| | target | provider | checks | pass | fail (required) | "
              "fail (recommended) | not run | coverage |", "|---|---|---|---|---|---|---|---|---|"]
    for t in report["targets"]:
        s = t["summary"]
        c = t["coverage"]
        lines.append(
            f"| {'✅' if target_ok(t, strict) else '❌'} | {_md(t['name'])} | "
            f"{_md(t['provider'])} | {s['checks']} | {s['pass']} | {s['fail_required']} | "
            f"{s['fail_recommended']} | {s.get('not_run', 0)} | "
            f"{c['events_exercised']}/{c['events_declared']} |")
    shown = hidden = used = 0  # failures detailed, left out; bytes they take
    matrices = 0  # bytes the folded matrices take
    for t in report["targets"]:
        checks, events, cells = matrix(t)
        lines += ["", f"## {_md(t['name'])} ({_md(t['provider'])}) — {_md(t['url'])}", ""]
        if t.get("diagnosis"):
            lines += [f"> **❌ {_md(t['diagnosis'])}**", ""]
        if t.get("stale_baseline"):
            lines += ["Stale baseline entries (they pass now; remove them): "
                      + ", ".join(f"`{_md(k)}`" for k in t["stale_baseline"]), ""]
        if t.get("receiver_log"):
            lines += [f"Receiver output of the whole run: `{_md(t['receiver_log'])}`", ""]
        if t.get("platform_calls"):
            lines += ["The receiver's calls to the platform while the suite ran (in process):",
                      "", "| call | outcome | times |", "|---|---|---|"]
            lines += [f"| `{_md(c['call'])}` | {_md(c['outcome'])} | {c['count']} |"
                      for c in t["platform_calls"][:50]]
            lines.append("")
        if t.get("live"):
            lines += ["| event | deliveries | bad signatures | contract errors | drift | "
                      "receiver failures |", "|---|---|---|---|---|---|"]
            lines += [f"| {_md(r['event'])} | {r['deliveries']} | {r['bad_signatures']} | "
                      f"{r['contract_errors']} | {r['drift']} | {r['receiver_failures']} |"
                      for r in t["live"]]
            lines.append("")
        s = t["summary"]
        fold = [f"<details><summary>Matrix: {len(events)} event(s) × {len(checks)} "
                f"check(s) · {s['not_observed']} not observed · {s['skipped']} skipped · "
                f"{s['baselined']} baselined</summary>", ""]
        if checks:
            fold.append("| event | " + " | ".join(_md(c.split(".", 1)[-1]) for c in checks)
                        + " |")
            fold.append("|---" * (len(checks) + 1) + "|")
            for event in events:
                fold.append(f"| {_md(event)} | " + " | ".join(
                    _cell_text(cells.get((event, c))) for c in checks) + " |")
        if t["latency"]:
            fold += ["", "| event | samples | p50 ms | p95 ms | max ms | budget ms |",
                     "|---|---|---|---|---|---|"]
            for row in t["latency"]:
                over = " ❌" if row["budget_ms"] and row["max_ms"] > row["budget_ms"] else ""
                fold.append(f"| {_md(row['event'])} | {row['samples']} | {row['p50_ms']} | "
                            f"{row['p95_ms']} | {row['max_ms']}{over} | {row['budget_ms']} |")
        fold += ["", "</details>"]
        size = sum(len(line.encode("utf-8")) + 1 for line in fold)
        if matrices + size <= MARKDOWN_LIMIT // 4:
            matrices += size
            lines += fold
        else:  # a step summary holds 1 MiB: the rest of the matrices are in the HTML
            lines.append("The matrix of this target: see conformance.html.")
        for failure in ordered_failures(t):
            block = ["", *_markdown_failure(failure)]
            size = sum(len(line.encode("utf-8")) + 1 for line in block)
            if shown >= MARKDOWN_FAILURES or used + size > MARKDOWN_LIMIT // 2:
                hidden += 1
                continue
            shown += 1
            used += size
            lines += block
    if hidden:
        lines += ["", f"… and {hidden} more failure(s): see conformance.html or "
                  "conformance.json."]
    lines.append("")
    lines.append("Legend: ✅ pass · ❌ fail (required) · ⚠️ fail (recommended) · ➖ not observed"
                 " · ⛔ not run · ⏭ skipped · ᵇ baselined (known failure, not counted)")
    text = "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > MARKDOWN_LIMIT:
        cut = text.encode("utf-8")[:MARKDOWN_LIMIT].decode("utf-8", "ignore")
        text = cut.rsplit("\n", 1)[0]
        if text.count("<details>") > text.count("</details>"):
            text += "\n\n</details>"  # a fold cut open would swallow the rest of the page
        text += "\n\n… (truncated: see conformance.html)\n"
    return text


def _markdown_failure(failure: Mapping[str, Any]) -> list[str]:
    where = failure.get("event") or PROVIDER_ROW
    mark = "⚠️" if failure["severity"] == "recommended" else "❌"
    tag = " (baselined)" if failure.get("baselined") else ""
    def esc(text: object) -> str:  # element text: quotes stay quotes (`hook's`, not &#x27;)
        return html.escape(str(text), quote=False)

    lines = [f"<details><summary>{mark} <code>{esc(failure['check'])}</code> {esc(where)}: "
             f"{esc(failure['title'])} ({failure['severity']}){tag}</summary>", "",
             f"- expected: {esc(failure['expected'])}",
             f"- got: {esc(failure['got'])}"]
    if failure.get("json_path"):
        lines.append(f"- at: `{failure['json_path']}`"
                     + (f" (contract: `{failure['schema_path']}`)"
                        if failure.get("schema_path") else ""))
    if failure.get("hint"):
        lines.append(f"- hint: {esc(failure['hint'])}")
    if failure.get("exit_status"):
        lines.append(f"- receiver: {esc(failure['exit_status'])}")
    if failure.get("reproduction"):
        lines += ["", *_fence(failure["reproduction"], "sh")]
    calls = platform_calls(failure)
    if calls:
        lines += ["", "While answering, the receiver called:", "", *_fence("\n".join(calls))]
    if failure.get("receiver_output"):
        lines += ["", "The receiver's output from this delivery on:", "",
                  *_fence(str(failure["receiver_output"])[-4000:])]
    lines += ["", "</details>"]
    return lines
