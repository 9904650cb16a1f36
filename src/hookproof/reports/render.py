"""Rendering a conformance report: Markdown (fits a GitHub step summary) and one HTML file.

The HTML page is self-contained: inline CSS, no script, no font, image or stylesheet fetched
from anywhere, so it can be attached to a CI run and opened offline. Its matrix cells carry
the outcome as a class (``td.pass``, ``td.fail``, ``td.not_observed``, ``td.skipped``; a
failure also ``required`` or ``recommended``, and ``baselined`` when known), which is what the
colours hang on and what tests count.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SYMBOL = {"pass": "✅", "fail": "❌", "not_observed": "➖", "not_run": "⛔", "skipped": "⏭"}
"""Markdown marks (GitHub renders emoji)."""
HTML_SYMBOL = {"pass": "✓", "fail": "✗", "warn": "!", "not_observed": "–", "not_run": "∅",
               "skipped": "»"}
"""HTML marks: plain text glyphs, legible without an emoji font (colour carries the rest)."""
PROVIDER_ROW = "(provider)"
"""The matrix row of checks that run once per provider rather than per event."""
MARKDOWN_FAILURES = 30
"""Failures detailed in the Markdown (the HTML has them all)."""
MARKDOWN_PROBLEMS = 50
"""Distinct problems listed at the top of the Markdown (the HTML lists them all)."""
MARKDOWN_LIMIT = 900_000
"""Bytes: a GitHub step summary holds at most 1 MiB per step."""

_RANK = {"fail": 4, "not_run": 3, "not_observed": 2, "skipped": 1, "pass": 0}


def _verdict(report: Mapping[str, Any]) -> str:
    return "conformant" if report["conformant"] else "NOT conformant"


def _target_ok(target: Mapping[str, Any], strict: bool) -> bool:
    from hookproof.checks.verdict import target_conformant

    return target_conformant(target["summary"], strict=strict)


def _totals(report: Mapping[str, Any]) -> dict[str, int]:
    keys = ("checks", "pass", "fail", "not_observed", "not_run", "skipped", "fail_required",
            "fail_recommended", "baselined")
    return {k: sum(t["summary"].get(k, 0) for t in report["targets"]) for k in keys}


GROUP_ORDER = ("signature", "payload", "response", "idempotency", "fuzz")
"""Columns of the matrix, in the order a reader checks a receiver: trust first."""


def _matrix(target: Mapping[str, Any]) -> tuple[list[str], list[str], dict[tuple[str, str], Any]]:
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


def _cell_text(result: Mapping[str, Any] | None) -> str:
    if result is None:
        return ""
    mark = SYMBOL.get(result["outcome"], "?")
    if result["outcome"] == "fail" and result["severity"] == "recommended":
        mark = "⚠️"
    if result.get("baselined"):
        mark += "ᵇ"
    return mark


def _ordered_failures(target: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Required before recommended, baselined last; otherwise in the order they ran."""
    def rank(failure: Mapping[str, Any]) -> tuple[int, int]:
        return (1 if failure.get("baselined") else 0,
                0 if failure["severity"] == "required" else 1)

    return sorted(target["failures"], key=rank)


def _slug(raw: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in raw)


def _anchor(target: Mapping[str, Any], check: str, event: str | None) -> str:
    return _slug(f"f-{target['name']}-{check}-{event or 'provider'}")


# -- Markdown ----------------------------------------------------------------------------------


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell or summary line."""
    return html.escape(str(text)).replace("|", "\\|").replace("\n", " ")


def _fence(text: str, lang: str = "") -> list[str]:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return [ticks + lang, text, ticks]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report in Markdown, readable in a GitHub step summary: the verdict, then the
    distinct problems with their events, then per target its details (the full matrix, the
    latency table) folded, then the failures."""
    from hookproof.reports.document import problems

    strict = bool(report.get("strict"))
    totals = _totals(report)
    icon = "✅" if report["conformant"] else "❌"
    lines = [f"# {icon} hookproof conformance: {_verdict(report)}", ""]
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
        lines.append(f"- {mark} **{_md(failure['title'])}** — `{_md(failure['check'])}`{more}, "
                     f"{_md(target['name'])}, {len(events)} event(s): "
                     f"{_md(', '.join(events[:12]))}{' …' if len(events) > 12 else ''}{tag}")
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
            f"| {'✅' if _target_ok(t, strict) else '❌'} | {_md(t['name'])} | "
            f"{_md(t['provider'])} | {s['checks']} | {s['pass']} | {s['fail_required']} | "
            f"{s['fail_recommended']} | {s.get('not_run', 0)} | "
            f"{c['events_exercised']}/{c['events_declared']} |")
    shown = hidden = used = 0  # failures detailed, left out; bytes they take
    matrices = 0  # bytes the folded matrices take
    for t in report["targets"]:
        checks, events, cells = _matrix(t)
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
        for failure in _ordered_failures(t):
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


def _platform_calls(failure: Mapping[str, Any]) -> list[str]:
    """One line per call the receiver made to the platform while answering (in process)."""
    from hookproof.transport.scope import PlatformCall

    return [PlatformCall(**call).describe() for call in failure.get("platform_calls") or ()]


def _markdown_failure(failure: Mapping[str, Any]) -> list[str]:
    where = failure.get("event") or PROVIDER_ROW
    mark = "⚠️" if failure["severity"] == "recommended" else "❌"
    tag = " (baselined)" if failure.get("baselined") else ""
    esc = html.escape
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
    calls = _platform_calls(failure)
    if calls:
        lines += ["", "While answering, the receiver called:", "", *_fence("\n".join(calls))]
    if failure.get("receiver_output"):
        lines += ["", "The receiver's output from this delivery on:", "",
                  *_fence(str(failure["receiver_output"])[-4000:])]
    lines += ["", "</details>"]
    return lines


# -- HTML --------------------------------------------------------------------------------------

def _css() -> str:
    """The report's stylesheet (package data ``report.css``), inlined into the page."""
    from importlib import resources

    return resources.files("hookproof.reports").joinpath("report.css").read_text(encoding="utf-8")



def _cell_html(target: Mapping[str, Any], result: Mapping[str, Any] | None) -> str:
    if result is None:
        return '<td class="none"></td>'
    outcome = result["outcome"]
    classes = [outcome]
    if outcome == "fail":
        classes.append(result["severity"])
    if result.get("baselined"):
        classes.append("baselined")
    event = result["event"] or PROVIDER_ROW
    title = f"{result['check']} · {event}: {outcome.replace('_', ' ')}"
    if outcome == "fail":
        title += f" ({result['severity']})"
    if result.get("baselined"):
        title += ", baselined"
    if result.get("reason"):
        title += f" — {result['reason']}"
    mark = HTML_SYMBOL["warn" if "recommended" in classes else outcome]
    if result.get("baselined"):
        mark += "ᵇ"
    if outcome == "fail":
        mark = f'<a href="#{_anchor(target, result["check"], result["event"])}">{mark}</a>'
    return (f'<td class="{" ".join(classes)}" title="{html.escape(title)}" '
            f'data-check="{html.escape(result["check"])}" data-event="{html.escape(event)}">'
            f"{mark}</td>")


def _matrix_html(target: Mapping[str, Any]) -> list[str]:
    checks, events, cells = _matrix(target)
    if not checks:
        return ["<p class=meta>No checks ran.</p>"]
    esc = html.escape
    groups: dict[str, int] = {}
    for check in checks:
        group = check.split(".", 1)[0]
        groups[group] = groups.get(group, 0) + 1
    parts = [f'<table class="matrix" data-provider="{esc(target["provider"])}">',
             '<tr><th class="label" rowspan="2">event</th>'
             + "".join(f'<th class="group" colspan="{n}">{esc(g)}</th>'
                       for g, n in groups.items()) + "</tr>",
             "<tr>" + "".join(f'<th class="check" title="{esc(c)}">{esc(c.split(".", 1)[-1])}'
                              "</th>" for c in checks) + "</tr>"]
    for event in events:
        parts.append(f'<tr><td class="label">{esc(event)}</td>'
                     + "".join(_cell_html(target, cells.get((event, c))) for c in checks)
                     + "</tr>")
    parts.append("</table>")
    return parts


def _latency_html(target: Mapping[str, Any]) -> list[str]:
    if not target["latency"]:
        return []
    parts = ["<h3>Latency</h3>", '<table class="latency"><tr><th class="label">event</th>'
             "<th>samples</th><th>p50 ms</th><th>p95 ms</th><th>max ms</th><th>budget ms</th>"
             "<th>max / budget</th></tr>"]
    for row in target["latency"]:
        budget = row["budget_ms"]
        share = f"{row['max_ms'] / budget:.1%}" if budget else "—"
        over = ' class="over"' if budget and row["max_ms"] > budget else ""
        parts.append(
            f'<tr><td class="label">{html.escape(row["event"])}</td><td>{row["samples"]}</td>'
            f"<td>{row['p50_ms']}</td><td>{row['p95_ms']}</td><td{over}>{row['max_ms']}</td>"
            f"<td>{budget}</td><td{over}>{share}</td></tr>")
    parts.append("</table>")
    return parts


def _pairs(rows: Iterable[tuple[str, object]]) -> str:
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>"
                            for k, v in rows) + "</dl>"


def _headers_text(headers: Mapping[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in headers.items())


def _failure_html(target: Mapping[str, Any], failure: Mapping[str, Any], *,
                  open_: bool = False) -> str:
    esc = html.escape
    where = failure.get("event") or PROVIDER_ROW
    severity = failure["severity"]
    classes = ["failure", severity] + (["baselined"] if failure.get("baselined") else [])
    tag = " · baselined" if failure.get("baselined") else ""
    mark = "!" if severity == "recommended" else "✗"
    facts: list[tuple[str, object]] = [("expected", failure["expected"]),
                                       ("got", failure["got"])]
    if failure.get("json_path"):
        facts.append(("json path", failure["json_path"]))
    if failure.get("schema_path"):
        facts.append(("contract", failure["schema_path"]))
    if failure.get("hint"):
        facts.append(("hint", failure["hint"]))
    if failure.get("exit_status"):
        facts.append(("receiver", failure["exit_status"]))
    body = [_pairs(facts)]
    details: Sequence[Mapping[str, Any]] = failure.get("details") or ()
    if details:
        body.append("<h3>Also</h3><ul>" + "".join(
            f"<li>{esc(d['title'])}"
            + (f" at <code>{esc(str(d['json_path']))}</code>" if d.get("json_path") else "")
            + (f": expected {esc(str(d['expected']))}, got {esc(str(d['got']))}</li>"
               if d.get("expected") else f": {esc(str(d['got']))}</li>")
            for d in details) + "</ul>")
    request = failure.get("request")
    if request:
        sent = (f"{request['method']} {request['url']}\n{_headers_text(request['headers'])}"
                f"\n\n{request['body_head']}")
        body.append(f'<h3>Sent</h3><pre class="request">{esc(sent)}</pre>')
    response = failure.get("response")
    if response:
        if response.get("error"):
            got = f"no usable answer after {response['elapsed_ms']} ms: {response['error']}"
        else:
            got = (f"HTTP {response['status']} in {response['elapsed_ms']} ms\n"
                   f"{_headers_text(response['headers'])}\n\n{response.get('body_head') or ''}")
        body.append(f'<h3>Came back</h3><pre class="response">{esc(got)}</pre>')
    calls = _platform_calls(failure)
    if calls:
        body.append("<h3>While answering, the receiver called</h3>"
                    f'<pre class="platform-calls">{esc(chr(10).join(calls))}</pre>')
    if failure.get("receiver_output"):
        body.append("<h3>The receiver's output from this delivery on</h3>"
                    f'<pre class="receiver-output">{esc(failure["receiver_output"])}</pre>')
    if failure.get("reproduction"):
        body.append("<h3>Reproduce</h3><p class=meta>The signature as computed; the secret is "
                    "never shown. A timestamped signature goes stale: re-sign with "
                    "<code>hookproof send</code>.</p>"
                    f'<pre class="reproduction">{esc(failure["reproduction"])}</pre>')
    return (f'<details class="{" ".join(classes)}"{" open" if open_ else ""} '
            f'id="{_anchor(target, failure["check"], failure.get("event"))}" '
            f'data-check="{esc(failure["check"])}"><summary>{mark} '
            f"<code>{esc(failure['check'])}</code> · {esc(where)} · {esc(failure['title'])} "
            f"({esc(severity)}){tag}</summary>{''.join(body)}</details>")


def _problems_html(report: Mapping[str, Any]) -> list[str]:
    """"N distinct problems", each with the events it covers (a link to its first failure)."""
    from hookproof.reports.document import problems

    esc = html.escape
    distinct = [(t, p) for t in report["targets"] for p in problems(t["failures"])]
    parts = [f'<section class="problems"><h2 id="problems">{len(distinct)} distinct '
             f"problem(s)</h2>"]
    if distinct:
        parts.append("<ol>")
        for target, problem in distinct:
            failure = problem["failure"]
            kind = "recommended" if failure["severity"] == "recommended" else "required"
            events = ", ".join(problem["events"])
            anchor = _anchor(target, failure["check"], failure.get("event"))
            checks = problem["checks"]
            more = f" and {len(checks) - 1} other check(s)" if len(checks) > 1 else ""
            parts.append(
                f'<li class="problem {kind}"><a href="#{anchor}">{esc(failure["title"])}</a> '
                f"<code>{esc(failure['check'])}</code>{more} ({kind}) · "
                f"{esc(target['name'])} · {len(problem['events'])} event(s): "
                f"{esc(events)}</li>")
        parts.append("</ol>")
    parts.append("</section>")
    return parts


def render_html(report: Mapping[str, Any]) -> str:
    esc = html.escape
    strict = bool(report.get("strict"))
    totals = _totals(report)
    ok = bool(report["conformant"])
    meta = (f"{len(report['targets'])} target(s) · {totals['checks']} checks · "
            f"{totals['pass']} pass · {totals['fail_required']} required failure(s) · "
            f"{totals['fail_recommended']} recommended · {totals['not_observed']} not observed · "
            f"{totals['baselined']} baselined")
    run = (f"hookproof {report['hookproof_version']} · started {report['started']} · "
           f"{report['duration_seconds']} s"
           + (f" · seed {report['seed']}" if report.get("seed") is not None else "")
           + (" · strict (recommended checks count)" if strict else ""))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>hookproof: {esc(_verdict(report))}</title>",
        f"<style>{_css()}</style></head><body>",
        f'<header class="verdict {"ok" if ok else "bad"}"><h1 id="verdict">'
        f"{'✔' if ok else '✘'} {esc(_verdict(report))}</h1>"
        f"<p>{esc(meta)}</p><p>{esc(run)}</p></header>",
        "<main>",
        '<p class="legend"><span><i class="pass"></i>pass</span>'
        '<span><i class="fail"></i>fail (required)</span>'
        '<span><i class="warn"></i>fail (recommended)</span>'
        '<span><i class="grey"></i>not observed / not run / skipped</span>'
        "<span>ᵇ baselined (known failure, not counted)</span></p>",
        '<table class="targets"><tr><th></th><th class="label">target</th><th>provider</th>'
        "<th>checks</th><th>pass</th><th>fail (required)</th><th>fail (recommended)</th>"
        "<th>not observed</th><th>baselined</th><th>coverage</th></tr>",
    ]
    for t in report["targets"]:
        s = t["summary"]
        c = t["coverage"]
        good = _target_ok(t, strict)
        parts.append(
            f'<tr><td><span class="badge {"ok" if good else "bad"}">'
            f"{'pass' if good else 'fail'}</span></td>"
            f'<td class="label"><a href="#{_slug("t-" + t["name"])}">{esc(t["name"])}</a></td>'
            f"<td>{esc(t['provider'])}</td><td>{s['checks']}</td><td>{s['pass']}</td>"
            f"<td>{s['fail_required']}</td><td>{s['fail_recommended']}</td>"
            f"<td>{s['not_observed']}</td><td>{s['baselined']}</td>"
            f"<td>{c['events_exercised']}/{c['events_declared']}</td></tr>")
    parts.append("</table>")
    parts += _problems_html(report)
    for t in report["targets"]:
        s = t["summary"]
        c = t["coverage"]
        good = _target_ok(t, strict)
        parts.append(f'<section class="target" id="{_slug("t-" + t["name"])}" '
                     f'data-provider="{esc(t["provider"])}">')
        parts.append(f'<h2>{esc(t["name"])} <span class="badge {"ok" if good else "bad"}">'
                     f"{'pass' if good else 'fail'}</span> <small>{esc(t['provider'])} · "
                     f"{esc(str(t['url']))}</small></h2>")
        parts.append(f'<p class="meta">{s["checks"]} checks: {s["pass"]} pass, '
                     f"{s['fail_required']} fail (required), {s['fail_recommended']} fail "
                     f"(recommended), {s['not_observed']} not observed, {s.get('not_run', 0)} "
                     f"not run, {s['skipped']} skipped, "
                     f"{s['baselined']} baselined · coverage {c['events_exercised']}/"
                     f"{c['events_declared']} events</p>")
        for reason in t.get("unavailable", ()):
            parts.append(f'<p class="diagnosis">not run: {esc(reason)}</p>')
        if t.get("receiver_log"):
            parts.append(f'<p class="meta">The receiver\'s output of the whole run: '
                         f'<a class="receiver-log" href="{esc(t["receiver_log"])}">'
                         f"{esc(t['receiver_log'])}</a></p>")
        if t.get("platform_calls"):
            rows = "".join(f"<tr><td><code>{esc(c['call'])}</code></td><td>"
                           f"{esc(c['outcome'])}</td><td>{c['count']}</td></tr>"
                           for c in t["platform_calls"][:50])
            parts.append("<details class=\"platform-calls\"><summary>The receiver's calls to "
                         "the platform while the suite ran (in process)</summary><table><tr>"
                         f"<th>call</th><th>outcome</th><th>times</th></tr>{rows}</table>"
                         "</details>")
        if t.get("diagnosis"):
            parts.append(f'<p class="diagnosis"><strong>{esc(t["diagnosis"])}</strong></p>')
        if t.get("stale_baseline"):
            parts.append('<p class="meta">Stale baseline entries (they pass now; remove them): '
                         + ", ".join(f"<code>{esc(k)}</code>" for k in t["stale_baseline"])
                         + "</p>")
        if t.get("live"):
            parts.append('<table class="live"><tr><th class="label">event</th>'
                         "<th>deliveries</th><th>bad signatures</th><th>contract errors</th>"
                         "<th>drift</th><th>receiver failures</th></tr>" + "".join(
                             f'<tr><td class="label">{esc(r["event"])}</td>'
                             f"<td>{r['deliveries']}</td><td>{r['bad_signatures']}</td>"
                             f"<td>{r['contract_errors']}</td><td>{r['drift']}</td>"
                             f"<td>{r['receiver_failures']}</td></tr>" for r in t["live"])
                         + "</table>")
        parts += _matrix_html(t)
        parts += _latency_html(t)
        failures = _ordered_failures(t)
        if failures:
            parts.append(f"<h3>Failures ({len(failures)})</h3>")
            # the first (worst) failure open: what went wrong is visible without a click
            parts += [_failure_html(t, f, open_=i == 0) for i, f in enumerate(failures)]
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
