"""Rendering a conformance report: Markdown (fits a GitHub step summary) and one HTML file."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

SYMBOL = {"pass": "✅", "fail": "❌", "not_observed": "➖", "skipped": "⏭"}


def _verdict(report: Mapping[str, Any]) -> str:
    return "conformant" if report["conformant"] else "NOT conformant"


def _matrix(target: Mapping[str, Any]) -> tuple[list[str], list[str], dict[tuple[str, str], Any]]:
    checks: list[str] = []
    events: list[str] = []
    cells: dict[tuple[str, str], Any] = {}
    for result in target["results"]:
        event = result["event"] or "(provider)"
        if result["check"] not in checks:
            checks.append(result["check"])
        if event not in events:
            events.append(event)
        cells[(event, result["check"])] = result
    return checks, events, cells


def _cell_text(result: Mapping[str, Any] | None) -> str:
    if result is None:
        return ""
    mark = SYMBOL.get(result["outcome"], "?")
    if result["outcome"] == "fail" and result["severity"] == "recommended":
        mark = "⚠️"
    if result.get("baselined"):
        mark += "ᵇ"
    return mark


def render_markdown(report: Mapping[str, Any]) -> str:
    lines = [f"# hookproof conformance: {_verdict(report)}", ""]
    lines.append(f"hookproof {report['hookproof_version']}, started {report['started']}, "
                 f"{report['duration_seconds']} s"
                 + (f", seed {report['seed']}" if report.get("seed") is not None else ""))
    lines.append("")
    lines.append("| target | provider | checks | pass | fail (required) | fail (recommended) "
                 "| not observed | baselined | coverage |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for t in report["targets"]:
        s = t["summary"]
        c = t["coverage"]
        lines.append(f"| {t['name']} | {t['provider']} | {s['checks']} | {s['pass']} | "
                     f"{s['fail_required']} | {s['fail_recommended']} | {s['not_observed']} | "
                     f"{s['baselined']} | {c['events_exercised']}/{c['events_declared']} |")
    for t in report["targets"]:
        checks, events, cells = _matrix(t)
        lines += ["", f"## {t['name']} ({t['provider']}) — {t['url']}", ""]
        short = [c.split(".", 1)[1] for c in checks]
        lines.append("| event | " + " | ".join(short) + " |")
        lines.append("|---" * (len(checks) + 1) + "|")
        for event in events:
            lines.append(f"| {event} | "
                         + " | ".join(_cell_text(cells.get((event, c))) for c in checks) + " |")
        if t["latency"]:
            lines += ["", "| event | p50 ms | p95 ms | max ms | budget ms |",
                      "|---|---|---|---|---|"]
            for row in t["latency"]:
                lines.append(f"| {row['event']} | {row['p50_ms']} | {row['p95_ms']} | "
                             f"{row['max_ms']} | {row['budget_ms']} |")
        for failure in t["failures"]:
            where = failure.get("event") or "(provider)"
            tag = " (baselined)" if failure.get("baselined") else ""
            lines += ["", f"<details><summary>❌ <code>{failure['check']}</code> {where}: "
                      f"{html.escape(failure['title'])} ({failure['severity']}){tag}</summary>",
                      "", f"- expected: {html.escape(str(failure['expected']))}",
                      f"- got: {html.escape(str(failure['got']))}"]
            if failure.get("json_path"):
                lines.append(f"- at: `{failure['json_path']}`")
            if failure.get("reproduction"):
                lines += ["", "```sh", failure["reproduction"], "```"]
            lines += ["", "</details>"]
    lines.append("")
    lines.append("Legend: ✅ pass · ❌ fail (required) · ⚠️ fail (recommended) · ➖ not observed"
                 " · ᵇ baselined")
    return "\n".join(lines) + "\n"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24}
h1 .ok{color:#1a7f37}h1 .bad{color:#cf222e}
table{border-collapse:collapse;margin:8px 0 20px}
th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:center}
th.event,td.event{text-align:left;font-family:ui-monospace,monospace}
th.rot{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:500;font-size:12px}
td.pass{background:#dafbe1}td.fail{background:#ffebe9}td.warn{background:#fff8c5}
td.not_observed,td.skipped{background:#eaeef2}
details{border:1px solid #d0d7de;border-radius:6px;margin:6px 0;padding:6px 10px}
summary{cursor:pointer}pre{white-space:pre-wrap;background:#f6f8fa;padding:8px}
"""


def _cell_html(result: Mapping[str, Any] | None) -> str:
    if result is None:
        return "<td></td>"
    css = result["outcome"]
    if css == "fail" and result["severity"] == "recommended":
        css = "warn"
    title = f"{result['check']}: {result['outcome']} ({result['severity']})"
    if result.get("baselined"):
        title += ", baselined"
    return (f'<td class="{css}" title="{html.escape(title)}" data-outcome="{result["outcome"]}">'
            f"{_cell_text(result)}</td>")


def render_html(report: Mapping[str, Any]) -> str:
    esc = html.escape
    verdict = _verdict(report)
    parts = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
             "<title>hookproof conformance</title>", f"<style>{_CSS}</style></head><body>",
             f'<h1>hookproof conformance: <span class="{"ok" if report["conformant"] else "bad"}"'
             f' id="verdict">{esc(verdict)}</span></h1>',
             f"<p>hookproof {esc(report['hookproof_version'])} · started "
             f"{esc(report['started'])} · {report['duration_seconds']} s"
             + (f" · seed {report['seed']}" if report.get("seed") is not None else "")
             + "</p>"]
    for t in report["targets"]:
        checks, events, cells = _matrix(t)
        s = t["summary"]
        c = t["coverage"]
        parts.append(f'<section class="target" data-provider="{esc(t["provider"])}">')
        parts.append(f"<h2>{esc(t['name'])} <small>({esc(t['provider'])}) "
                     f"{esc(str(t['url']))}</small></h2>")
        parts.append(f"<p>{s['checks']} checks: {s['pass']} pass, {s['fail_required']} fail "
                     f"(required), {s['fail_recommended']} fail (recommended), "
                     f"{s['not_observed']} not observed, {s['baselined']} baselined · coverage "
                     f"{c['events_exercised']}/{c['events_declared']} events</p>")
        parts.append('<table class="matrix"><tr><th class="event">event</th>'
                     + "".join(f'<th class="rot">{esc(x)}</th>' for x in checks) + "</tr>")
        for event in events:
            parts.append(f'<tr><td class="event">{esc(event)}</td>'
                         + "".join(_cell_html(cells.get((event, x))) for x in checks) + "</tr>")
        parts.append("</table>")
        if t["latency"]:
            parts.append("<table class=latency><tr><th class=event>event</th><th>p50 ms</th>"
                         "<th>p95 ms</th><th>max ms</th><th>budget ms</th></tr>")
            for row in t["latency"]:
                parts.append(f"<tr><td class=event>{esc(row['event'])}</td><td>{row['p50_ms']}"
                             f"</td><td>{row['p95_ms']}</td><td>{row['max_ms']}</td>"
                             f"<td>{row['budget_ms']}</td></tr>")
            parts.append("</table>")
        for failure in t["failures"]:
            where = failure.get("event") or "(provider)"
            body = [f"expected: {failure['expected']}", f"got: {failure['got']}"]
            if failure.get("json_path"):
                body.append(f"at: {failure['json_path']}")
            if failure.get("hint"):
                body.append(f"hint: {failure['hint']}")
            request = failure.get("request") or {}
            response = failure.get("response") or {}
            if request:
                body.append(f"\nsent: {request['method']} {request['url']}")
                body += [f"  {k}: {v}" for k, v in request["headers"].items()]
                body.append(f"  body: {request['body_head']}")
            if response:
                body.append(f"got: HTTP {response['status']} in {response['elapsed_ms']} ms"
                            + (f" ({response['error']})" if response.get("error") else ""))
                if response.get("body_head"):
                    body.append(f"  body: {response['body_head']}")
            if failure.get("reproduction"):
                body.append(f"\nreproduce:\n{failure['reproduction']}")
            parts.append(f'<details class="failure"><summary>{esc(failure["check"])} · '
                         f"{esc(where)} · {esc(failure['title'])} ({esc(failure['severity'])})"
                         f"</summary><pre>{esc(chr(10).join(body))}</pre></details>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
