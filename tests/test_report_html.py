"""The HTML report in a real browser (headless Chromium), and the Markdown step summary.

Chromium renders the report of a run against a broken receiver: the matrix cells in the DOM
match the report's counts, a failure's <details> carries what was sent, what came back, what
was expected and the curl line, and a screenshot is kept as a test artifact (under
``reports/test-artifacts/`` or ``$HOOKPROOF_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from hookproof.reports.document import write
from hookproof.reports.html import render_html
from hookproof.reports.markdown import MARKDOWN_FAILURES, render_markdown
from reportkit import REPO, STEP_SUMMARY, Run, cached_run

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI is set: the HTML report must be "
                        "checked in a browser in CI (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium); the HTML report "
                    "is not rendered in a browser here (in CI, with CI set, this fails)")
    return found


def run_chromium(html_file: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
               html_file.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class Dom(HTMLParser):
    """Just enough of the DOM: every element's tag and attributes, and details' text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.details: list[dict[str, Any]] = []
        self._open_details: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if tag == "details":
            self._open_details = {"attrs": attributes, "text": []}
            self.details.append(self._open_details)

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self._open_details = None

    def handle_data(self, data: str) -> None:
        if self._open_details is not None:
            self._open_details["text"].append(data)

    def cells(self, *classes: str) -> int:
        return sum(1 for tag, a in self.elements
                   if tag == "td" and set(classes) <= set(a.get("class", "").split()))


def parse(text: str) -> Dom:
    dom = Dom()
    dom.feed(text)
    dom.close()
    return dom


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = cached_run(tmp_path_factory, "two_defects")
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    return run


def artifacts_dir() -> Path:
    configured = os.environ.get("HOOKPROOF_ARTIFACTS")
    directory = Path(configured) if configured else REPO / "reports" / "test-artifacts"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_html_is_self_contained(broken: Run) -> None:
    text = (broken.reports / "conformance.html").read_text(encoding="utf-8")
    dom = parse(text)
    external = [(tag, a) for tag, a in dom.elements
                for name in ("src", "href", "action", "srcset", "poster", "data")
                if a.get(name, "").strip().lower().startswith(("http:", "https:", "//"))]
    assert external == []
    assert not any(tag in ("script", "link", "iframe", "img", "object", "embed")
                   for tag, _ in dom.elements)
    lowered = text.lower()
    assert "@import" not in lowered and "url(" not in lowered
    # the only URLs are the target's, shown as text
    assert text.count("<style>") == 1


def test_html_renders_matrix_and_failures_in_chromium(broken: Run, tmp_path: Path) -> None:
    report = broken.report
    (target,) = report["targets"]
    s = target["summary"]
    html_file = broken.reports / "conformance.html"
    rendered = run_chromium(html_file, tmp_path / "profile", "--dump-dom")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    dom = parse(rendered.stdout)

    # the verdict, in the header
    assert "NOT conformant" in rendered.stdout
    # one matrix cell per result, coloured by outcome
    assert dom.cells("pass") == s["pass"] > 0
    assert dom.cells("fail") == s["fail"] > 0
    assert dom.cells("fail", "required") == s["fail_required"] > 0
    assert dom.cells("fail", "recommended") == s["fail_recommended"] > 0
    assert dom.cells("not_observed") == s["not_observed"]
    assert dom.cells("fail", "baselined") == s["baselined"] == 0

    # every failure expandable, with what was sent, what came back, what was expected
    assert len(dom.details) == len(target["failures"])
    unsigned = next(d for d in dom.details
                    if d["attrs"].get("data-check") == "signature.missing_rejected")
    text = "".join(unsigned["text"])
    failure = next(f for f in target["failures"] if f["check"] == "signature.missing_rejected")
    assert "Sent" in text and f"POST {failure['request']['url']}" in text
    assert "Came back" in text and "HTTP 200" in text
    assert "expected" in text and "4xx" in text
    assert "curl -sS -i -X POST" in text
    missing = next(d for d in dom.details
                   if d["attrs"].get("data-check") == "payload.missing_required_handled")
    assert "recommended" in missing["attrs"]["class"].split()
    json_path = next(f["json_path"] for f in target["failures"]
                     if f["check"] == "payload.missing_required_handled")
    assert "json path" in "".join(missing["text"]) and json_path in "".join(missing["text"])

    # "N distinct problems" before the matrices, each with the events it covers
    from hookproof.reports.outline import problems

    distinct = problems(target["failures"])
    assert f"{len(distinct)} distinct problem(s)" in rendered.stdout
    items = [a for tag, a in dom.elements if tag == "li" and "problem" in a.get("class", "")]
    assert len(items) == len(distinct) < len(target["failures"])
    assert rendered.stdout.index("distinct problem(s)") < rendered.stdout.index(
        'class="matrix')

    # a latency row per event, with the budget beside it
    assert sum(1 for tag, a in dom.elements if tag == "table"
               and a.get("class") == "latency") == 1
    assert str(target["latency"][0]["budget_ms"]) in rendered.stdout


def test_html_screenshot_is_kept(broken: Run, tmp_path: Path) -> None:
    screenshot = artifacts_dir() / "conformance-broken-receiver.png"
    screenshot.unlink(missing_ok=True)
    rendered = run_chromium(broken.reports / "conformance.html", tmp_path / "profile",
                            f"--screenshot={screenshot}", "--window-size=1400,1000",
                            "--hide-scrollbars")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert screenshot.is_file()
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000, f"{screenshot}: {len(data)} bytes, a blank page?"
    shutil.copy(broken.reports / "conformance.html", artifacts_dir() / "conformance-broken.html")


# -- Markdown ----------------------------------------------------------------------------------


def test_markdown_summarises_and_details_failures(broken: Run) -> None:
    report = broken.report
    markdown = (broken.reports / "conformance.md").read_text(encoding="utf-8")
    assert markdown == render_markdown(report)
    assert markdown.startswith("# ❌ hookproof conformance: NOT conformant\n")
    assert "| ❌ | varda | varda |" in markdown
    assert "<details><summary>❌ <code>signature.missing_rejected</code>" in markdown
    assert "```sh\ncurl -sS -i -X POST" in markdown
    shown = markdown.count("<details><summary>❌") + markdown.count("<details><summary>⚠️")
    assert shown == min(MARKDOWN_FAILURES, len(report["targets"][0]["failures"]))
    assert len(markdown.encode("utf-8")) < 1024 * 1024


def test_github_step_summary_gets_the_markdown_appended(
        broken: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## an earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    paths = write(broken.report, tmp_path / "out")
    text = summary.read_text(encoding="utf-8")
    markdown = paths["md"].read_text(encoding="utf-8")
    assert text == "## an earlier step\n" + markdown + "\n"
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    write(broken.report, tmp_path / "again")
    assert summary.read_text(encoding="utf-8") == text


def test_github_step_summary_from_a_real_run(broken: Run) -> None:
    # the run had GITHUB_STEP_SUMMARY set, as on GitHub Actions
    summary = broken.cwd / STEP_SUMMARY
    assert summary.read_text(encoding="utf-8") == (
        (broken.reports / "conformance.md").read_text(encoding="utf-8") + "\n")


def test_markdown_stays_within_a_step_summary() -> None:
    failure = {"check": "signature.missing_rejected", "provider": "varda", "event": "e",
               "severity": "required", "title": "x | y", "expected": "4xx", "got": "HTTP 200",
               "json_path": None, "schema_path": None, "details": [], "hint": None,
               "request": None, "response": None, "baselined": False,
               "reproduction": "curl -sS -i -X POST --data-binary '" + "x" * 40_000 + "' u"}
    target = {"name": "t", "provider": "varda", "url": "http://h/varda",
              "summary": {"checks": 200, "pass": 0, "fail": 200, "not_observed": 0,
                          "skipped": 0, "fail_required": 200, "fail_recommended": 0,
                          "baselined": 0},
              "coverage": {"events_declared": 1, "events_exercised": 1, "ratio": 1.0},
              "latency": [],
              "results": [{"check": f"signature.c{i}", "event": "e|f", "severity": "required",
                           "outcome": "fail", "baselined": False} for i in range(200)],
              "failures": [dict(failure, check=f"signature.c{i}") for i in range(200)]}
    report = {"schema_version": 1, "hookproof_version": "0", "started": "2026-01-01T00:00:00Z",
              "duration_seconds": 1.0, "seed": None, "strict": False, "conformant": False,
              "providers": ["varda"], "targets": [target] * 60}
    markdown = render_markdown(report)
    assert len(markdown.encode("utf-8")) < 1024 * 1024
    assert 0 < markdown.count("<details><summary>❌") <= MARKDOWN_FAILURES
    assert markdown.count("<details>") == markdown.count("</details>")
    assert "more failure(s): see conformance.html" in markdown
    assert "| e\\|f |" in markdown  # a pipe in an event name does not break the table
    assert "x | y" in markdown  # in a <details> summary it needs no escape
    # the HTML keeps every failure
    assert render_html({**report, "targets": [target]}).count("<details") == 200


def test_markdown_keeps_quotes_and_escapes_markup() -> None:
    """Quotes in text are quotes (`hook's`, `"data"`), as GitHub renders element text;
    markup a target chose stays text."""
    failure = {"check": "response.prehook_shape", "provider": "varda", "event": "e",
               "severity": "required", "title": "the hook's answer <b>\"bold\"</b>",
               "expected": "the hook's shape", "got": 'field "data" & <script>',
               "json_path": None, "schema_path": None, "details": [], "hint": "it's fine",
               "request": None, "response": None, "baselined": False, "reproduction": None}
    target = {"name": "t", "provider": "varda", "url": "http://h/varda",
              "summary": {"checks": 1, "pass": 0, "fail": 1, "not_observed": 0,
                          "skipped": 0, "fail_required": 1, "fail_recommended": 0,
                          "baselined": 0},
              "coverage": {"events_declared": 1, "events_exercised": 1, "ratio": 1.0},
              "latency": [],
              "results": [{"check": "response.prehook_shape", "event": "it's", "outcome":
                           "fail", "severity": "required", "baselined": False}],
              "failures": [failure]}
    report = {"schema_version": 1, "hookproof_version": "0", "started": "2026-01-01T00:00:00Z",
              "duration_seconds": 1.0, "seed": None, "strict": False, "conformant": False,
              "providers": ["varda"], "targets": [target]}
    markdown = render_markdown(report)
    assert "&#x27;" not in markdown and "&quot;" not in markdown
    assert "the hook's answer &lt;b&gt;\"bold\"&lt;/b&gt;" in markdown
    assert "- expected: the hook's shape" in markdown
    assert 'field "data" &amp; &lt;script&gt;' in markdown
    assert "<script>" not in markdown and "<b>" not in markdown
