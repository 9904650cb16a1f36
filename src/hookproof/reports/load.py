"""The reports of ``hookproof load``: ``load.json``, ``load.md`` and a self-contained
``load.html`` whose charts are inline SVG drawn here (no script, no network):

* deliveries per second over the run, and the p95 latency of each second against the
  budget line;
* the exactly-once reconciliation per event: processed once, lost, processed twice.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA = "load.schema.json"
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 220, 56, 28, 14
COLOURS = {"line": "#1f6feb", "budget": "#d1242f", "once": "#2da44e", "lost": "#d1242f",
           "duplicated": "#bf8700", "unacknowledged": "#8c959f", "unknown": "#6e7781"}


def write_reports(report: Mapping[str, Any], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "load.json", "md": directory / "load.md",
             "html": directory / "load.html"}
    paths["json"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths


def _verdict(report: Mapping[str, Any]) -> str:
    if report["interrupted"]:
        return "interrupted"
    return "holds the load" if report["ok"] else "does NOT hold the load"


def render_markdown(report: Mapping[str, Any]) -> str:
    lines = [f"# hookproof load: {report['provider']} — {_verdict(report)}", "",
             f"{report['target']}: {report['deliveries']} deliveries in "
             f"{report['duration_s']:.1f} s ({report['achieved_rate']:.1f}/s of "
             f"{report['rate']:g}/s asked), {report['users']} users"
             + (f" on {report['workers']} workers" if report["workers"] else "")
             + f", {report['duplicates']:.0%} re-sent as retries.", "",
             "| event | deliveries | retries | errors | p50 | p95 | p99 | budget | "
             "processed once | lost | twice |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["events"]:
        once = row["exactly_once"] or {}
        lines.append(
            f"| {row['event']} | {row['deliveries']} | {row['retries']} | {row['errors']} | "
            f"{row['p50_s'] * 1000:.1f} ms | {row['p95_s'] * 1000:.1f} ms | "
            f"{row['p99_s'] * 1000:.1f} ms | {row['budget_s']:g} s | "
            + (f"{once.get('once', 0)}/{once.get('acknowledged', 0)} | {once.get('lost', 0)} | "
               f"{once.get('duplicated', 0)} |" if row["exactly_once"] is not None else
               "not observed | | |"))
    if report["problems"]:
        lines += ["", "Problems:", ""] + [f"- {p}" for p in report["problems"]]
    if not report["exactly_once_observed"]:
        lines += ["", "Exactly-once processing was not observed: give `--effects-url`."]
    for note in report["notes"]:
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"


# -- charts ------------------------------------------------------------------------------------


def _ticks(top: float) -> list[float]:
    """Round values from 0 to ``top``: steps of 1, 2 or 5 times a power of ten, 3 to 6 of
    them."""
    if top <= 0:
        return [0.0]
    magnitude = 10 ** math.floor(math.log10(top))
    step = magnitude
    for factor in (0.1, 0.2, 0.5, 1, 2, 5):
        step = magnitude * factor
        if top / step <= 6:
            break
    return [round(step * i, 10) for i in range(int(top / step + 1e-9) + 1)]


def line_chart(points: Sequence[tuple[float, float | None]], *, label: str, unit: str,
               css: str, budget: float | None = None) -> str:
    """An inline SVG line chart of ``points`` (t, value); an optional dashed budget line."""
    known = [v for _, v in points if v is not None]
    top = max([*known, budget or 0.0, 1e-9]) * 1.15
    span = max((t for t, _ in points), default=1.0) or 1.0
    inner_w, inner_h = WIDTH - PAD_LEFT - 10, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(t: float) -> float:
        return PAD_LEFT + inner_w * t / span

    def y(v: float) -> float:
        return PAD_TOP + inner_h * (1 - v / top)

    parts = [f'<svg class="chart {css}" role="img" aria-label="{html.escape(label)}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
             'xmlns="http://www.w3.org/2000/svg">',
             f'<title>{html.escape(label)}</title>',
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>']
    for tick in _ticks(top / 1.15):
        ty = y(tick)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - 10}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     'stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{ty + 4:.1f}" font-size="11" '
                     f'text-anchor="end" fill="#57606a">{tick:g}{unit}</text>')
    for second in range(0, int(span) + 1, max(1, int(span) // 10 or 1)):
        parts.append(f'<text x="{x(second):.1f}" y="{HEIGHT - 8}" font-size="11" '
                     f'text-anchor="middle" fill="#57606a">{second}s</text>')
    if budget is not None:
        by = y(budget)
        parts.append(f'<line class="budget" x1="{PAD_LEFT}" x2="{WIDTH - 10}" y1="{by:.1f}" '
                     f'y2="{by:.1f}" stroke="{COLOURS["budget"]}" stroke-width="2" '
                     'stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{WIDTH - 12}" y="{by - 5:.1f}" font-size="11" '
                     f'text-anchor="end" fill="{COLOURS["budget"]}">budget {budget:g}{unit}'
                     '</text>')
    segments: list[list[str]] = [[]]
    for t, v in points:
        if v is None:
            segments.append([])
            continue
        segments[-1].append(f"{x(t):.1f},{y(v):.1f}")
    for segment in segments:
        if len(segment) == 1:
            cx, cy = segment[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{COLOURS["line"]}"/>')
        elif segment:
            parts.append(f'<polyline class="series" points="{" ".join(segment)}" fill="none" '
                         f'stroke="{COLOURS["line"]}" stroke-width="2.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def reconciliation_chart(events: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal stacked bars per event: processed once, lost, twice, unacknowledged."""
    rows = [e for e in events if e.get("exactly_once")]
    if not rows:
        return ""
    kinds = ("once", "lost", "duplicated", "unacknowledged", "unknown")
    bar, gap, label_w = 20, 10, 230
    height = PAD_TOP + len(rows) * (bar + gap) + 34
    parts = [f'<svg class="chart reconciliation" role="img" aria-label="exactly-once '
             f'reconciliation per event" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
             "<title>exactly-once reconciliation per event</title>",
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    most = max(sum(r["exactly_once"][k] for k in kinds) for r in rows) or 1
    for index, row in enumerate(rows):
        top = PAD_TOP + index * (bar + gap)
        parts.append(f'<text x="{label_w - 8}" y="{top + bar - 6}" font-size="12" '
                     f'text-anchor="end" fill="#24292f">{html.escape(row["event"])}</text>')
        left = float(label_w)
        for kind in kinds:
            count = row["exactly_once"][kind]
            if not count:
                continue
            width = (WIDTH - label_w - 70) * count / most
            parts.append(f'<rect class="{kind}" x="{left:.1f}" y="{top}" width="{width:.1f}" '
                         f'height="{bar}" fill="{COLOURS[kind]}"><title>{kind}: {count}'
                         '</title></rect>')
            left += width
        once = row["exactly_once"]
        parts.append(f'<text x="{left + 6:.1f}" y="{top + bar - 6}" font-size="11" '
                     f'fill="#57606a">{once["once"]}/{once["acknowledged"]}</text>')
    legend_y = height - 12
    x = float(label_w)
    for kind, text in (("once", "processed once"), ("lost", "lost (0)"),
                       ("duplicated", "processed twice"),
                       ("unacknowledged", "not acknowledged")):
        parts.append(f'<rect x="{x:.0f}" y="{legend_y - 10}" width="12" height="12" '
                     f'fill="{COLOURS[kind]}"/><text x="{x + 16:.0f}" y="{legend_y}" '
                     f'font-size="11" fill="#24292f">{text}</text>')
        x += 120
    parts.append("</svg>")
    return "".join(parts)


CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#24292f;max-width:60rem}
h1{font-size:1.4rem}.ok{color:#1a7f37}.bad{color:#d1242f}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
text-align:right}td:first-child,th:first-child{text-align:left}.meta{color:#57606a}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.4rem}"""


def render_html(report: Mapping[str, Any]) -> str:
    esc = html.escape
    verdict = _verdict(report)
    timeline = report["timeline"]
    budget = min((e["budget_s"] for e in report["events"]), default=None)
    rate_chart = line_chart([(p["t"], float(p["deliveries"])) for p in timeline],
                            label="deliveries per second", unit="", css="throughput")
    p95_chart = line_chart([(p["t"], p["p95_s"]) for p in timeline],
                           label="p95 latency per second against the budget", unit=" s",
                           css="latency", budget=budget)
    rows = "".join(
        f"<tr><td>{esc(r['event'])}</td><td>{r['deliveries']}</td><td>{r['retries']}</td>"
        f"<td>{r['errors']}</td><td>{r['p50_s'] * 1000:.1f} ms</td>"
        f"<td>{r['p95_s'] * 1000:.1f} ms</td><td>{r['p99_s'] * 1000:.1f} ms</td>"
        f"<td>{r['budget_s']:g} s</td><td>"
        + (f"{r['exactly_once']['once']}/{r['exactly_once']['acknowledged']} once, "
           f"{r['exactly_once']['lost']} lost, {r['exactly_once']['duplicated']} twice"
           if r["exactly_once"] is not None else "not observed") + "</td></tr>"
        for r in report["events"])
    problems = "".join(f"<li>{esc(p)}</li>" for p in report["problems"])
    reconciled = reconciliation_chart(report["events"])
    body = [
        f'<h1>hookproof load: {esc(report["provider"])} — <span class="'
        f'{"ok" if report["ok"] else "bad"}">{esc(verdict)}</span></h1>',
        f'<p class="meta">{esc(report["target"])}: {report["deliveries"]} deliveries in '
        f'{report["duration_s"]:.1f} s ({report["achieved_rate"]:.1f}/s of '
        f'{report["rate"]:g}/s asked), {report["users"]} users'
        + (f' on {report["workers"]} workers' if report["workers"] else "")
        + f', {report["duplicates"]:.0%} re-sent as retries; started {esc(report["started"])}'
        '</p>',
        f'<figure><figcaption>Deliveries per second</figcaption>{rate_chart}</figure>',
        f'<figure><figcaption>p95 latency per second, against the budget</figcaption>'
        f'{p95_chart}</figure>',
        (f'<figure><figcaption>Exactly once, per event</figcaption>{reconciled}</figure>'
         if reconciled else '<p class="meta">Exactly-once processing was not observed: give '
         '<code>--effects-url</code>.</p>'),
        "<table><tr><th>event</th><th>deliveries</th><th>retries</th><th>errors</th>"
        "<th>p50</th><th>p95</th><th>p99</th><th>budget</th><th>processed</th></tr>"
        f"{rows}</table>",
        f"<h2>Problems</h2><ul>{problems}</ul>" if problems else "",
    ]
    return ("<!doctype html><html lang=en><meta charset=utf-8><title>hookproof load: "
            f"{esc(report['provider'])}</title><style>{CSS}</style><body>"
            + "".join(body) + "</body></html>\n")
