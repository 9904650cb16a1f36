"""The conformance report as one HTML page.

The page is self-contained: inline CSS, no script, no font, image or stylesheet fetched
from anywhere, so it can be attached to a CI run and opened offline. Its matrix cells carry
the outcome as a class (``td.pass``, ``td.fail``, ``td.not_observed``, ``td.skipped``; a
failure also ``required`` or ``recommended``, and ``baselined`` when known), which is what the
colours hang on and what tests count.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hookproof.reports.outline import (
    PROVIDER_ROW,
    failure_anchor,
    matrix,
    ordered_failures,
    platform_calls,
    slug,
    summary_totals,
    target_ok,
    verdict_text,
)

HTML_SYMBOL = {"pass": "✓", "fail": "✗", "warn": "!", "not_observed": "–", "not_run": "∅",
               "skipped": "»"}
"""HTML marks: plain text glyphs, legible without an emoji font (colour carries the rest)."""
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
        mark = f'<a href="#{failure_anchor(target, result["check"], result["event"])}">{mark}</a>'
    return (f'<td class="{" ".join(classes)}" title="{html.escape(title)}" '
            f'data-check="{html.escape(result["check"])}" data-event="{html.escape(event)}">'
            f"{mark}</td>")


def _matrix_html(target: Mapping[str, Any]) -> list[str]:
    checks, events, cells = matrix(target)
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
    calls = platform_calls(failure)
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
            f'id="{failure_anchor(target, failure["check"], failure.get("event"))}" '
            f'data-check="{esc(failure["check"])}"><summary>{mark} '
            f"<code>{esc(failure['check'])}</code> · {esc(where)} · {esc(failure['title'])} "
            f"({esc(severity)}){tag}</summary>{''.join(body)}</details>")


def _problems_html(report: Mapping[str, Any]) -> list[str]:
    """"N distinct problems", each with the events it covers (a link to its first failure)."""
    from hookproof.reports.outline import problems

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
            anchor = failure_anchor(target, failure["check"], failure.get("event"))
            checks = problem["checks"]
            more = f" and {len(checks) - 1} other check(s)" if len(checks) > 1 else ""
            parts.append(
                f'<li class="problem {kind}"><a href="#{anchor}">{esc(problem["headline"])}</a> '
                f"<code>{esc(failure['check'])}</code>{more} ({kind}) · "
                f"{esc(target['name'])} · {len(problem['events'])} event(s): "
                f"{esc(events)}</li>")
        parts.append("</ol>")
    parts.append("</section>")
    return parts


def render_html(report: Mapping[str, Any]) -> str:
    esc = html.escape
    strict = bool(report.get("strict"))
    totals = summary_totals(report)
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
        f"<title>hookproof: {esc(verdict_text(report))}</title>",
        f"<style>{_css()}</style></head><body>",
        f'<header class="verdict {"ok" if ok else "bad"}"><h1 id="verdict">'
        f"{'✔' if ok else '✘'} {esc(verdict_text(report))}</h1>"
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
        good = target_ok(t, strict)
        parts.append(
            f'<tr><td><span class="badge {"ok" if good else "bad"}">'
            f"{'pass' if good else 'fail'}</span></td>"
            f'<td class="label"><a href="#{slug("t-" + t["name"])}">{esc(t["name"])}</a></td>'
            f"<td>{esc(t['provider'])}</td><td>{s['checks']}</td><td>{s['pass']}</td>"
            f"<td>{s['fail_required']}</td><td>{s['fail_recommended']}</td>"
            f"<td>{s['not_observed']}</td><td>{s['baselined']}</td>"
            f"<td>{c['events_exercised']}/{c['events_declared']}</td></tr>")
    parts.append("</table>")
    parts += _problems_html(report)
    for t in report["targets"]:
        s = t["summary"]
        c = t["coverage"]
        good = target_ok(t, strict)
        parts.append(f'<section class="target" id="{slug("t-" + t["name"])}" '
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
        failures = ordered_failures(t)
        if failures:
            parts.append(f"<h3>Failures ({len(failures)})</h3>")
            # the first (worst) failure open: what went wrong is visible without a click
            parts += [_failure_html(t, f, open_=i == 0) for i, f in enumerate(failures)]
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
