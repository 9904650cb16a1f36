"""The signing secret never leaves the process that signs with it.

A run with a recognisable secret, against receivers that fail checks, and against one that
echoes every request back (headers and raw body) in its answers, so that anything the report
shows of the answers also shows what was sent. The secret must appear in no report (JSON,
Markdown, HTML), no terminal output, no JUnit file and no reproduction line; and neither in
anything ``hookproof demo`` prints or writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reportkit import SECRET, Run, cached_run, demo_run

# The secret as it could show up: as is, JSON- or HTML-escaped forms are the same for this
# alphabet; also no recognisable half of it.
NEEDLES = (SECRET, SECRET[: len(SECRET) // 2], SECRET[len(SECRET) // 2:])


def leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def assert_no_secret(run: Run) -> list[Path]:
    """Check terminal output and every file the run wrote; return the files checked."""
    assert leaks(run.stdout) == [], "the secret is in the terminal output (stdout)"
    assert leaks(run.stderr) == [], "the secret is in the terminal output (stderr)"
    files = run.files()
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert leaks(text) == [], f"the secret is in {path}"
    return files


@pytest.fixture(scope="module")
def echo_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    # -rA and -l: the most a user can make pytest print (every outcome's section, locals)
    return cached_run(tmp_path_factory, "echo", "--junitxml=junit.xml", "-rA", "-l", "-vv")


def test_secret_sanity() -> None:
    assert SECRET.startswith("hp-SECRET-") and all(len(n) >= 10 for n in NEEDLES)


def test_echoing_receiver_run_leaks_no_secret(echo_run: Run) -> None:
    assert echo_run.returncode == 1, echo_run.stdout[-2000:] + echo_run.stderr[-2000:]
    files = assert_no_secret(echo_run)
    names = {p.name for p in files}
    assert {"conformance.json", "conformance.md", "conformance.html", "junit.xml"} <= names
    report = echo_run.report
    (target,) = report["targets"]
    assert target["failures"], "the echoing receiver should fail checks"
    # the echo really is in the report: answers carry the signed request back ...
    echoed = [f for f in target["failures"]
              if f["response"] and f["response"]["body_head"]
              and "x-varda-signature" in f["response"]["body_head"].lower()]
    assert echoed, "no failure shows the echoed request; the test would prove nothing"
    # ... and the JUnit file carries the records and the failure text
    junit = (echo_run.cwd / "junit.xml").read_text(encoding="utf-8")
    assert "curl -sS -i" in junit and "hookproof" in junit
    for failure in target["failures"]:
        reproduction = failure["reproduction"]
        assert reproduction and leaks(reproduction) == []
        assert reproduction.startswith("curl ")
    # the terminal shows failures in full, reproduction lines included
    assert "reproduce (signature computed with $X_SECRET, not shown)" in echo_run.stdout


def test_failing_receiver_run_leaks_no_secret(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = cached_run(tmp_path_factory, "two_defects")
    assert run.returncode == 1
    assert_no_secret(run)
    failures = run.report["targets"][0]["failures"]
    assert failures and all(leaks(json.dumps(f)) == [] for f in failures)


def test_demo_leaks_no_secret(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = demo_run(tmp_path_factory)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    files = assert_no_secret(run)
    assert {"conformance.json", "conformance.md", "conformance.html"} <= {p.name for p in files}
    # the demo ran with the pinned secret: it signed, the receiver verified, checks passed
    report = run.report
    assert len(report["targets"]) == 5
    assert all(t["summary"]["pass"] > 0 for t in report["targets"])
    assert "hookproof demo: reference receiver on" in run.stdout
