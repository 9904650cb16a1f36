"""Proof that the checks work: each broken receiver is caught by exactly the intended checks.

Every receiver of :data:`broken.BROKEN` is the reference receiver with one part swapped or
wrapped. The real suite runs against each (its own server, its own subprocess; several at once),
and the set of failing (check, event) pairs must equal the intended set exactly: the defect is
caught, by the right check, and no unrelated check misfires.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from broken import BROKEN, SECRET, SECRET_ENV, Broken, SuiteRun, run_suite
from hookproof.checks import REGISTRY

BY_NAME = {b.name: b for b in BROKEN}
WORKERS = max(2, min(4, (os.cpu_count() or 2) + 1))
"""Suites run at once: each is a subprocess plus a receiver thread here, mostly waiting."""


class SuiteRuns:
    """The suite's run against each broken receiver, made once, several at a time."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.done: dict[str, SuiteRun | BaseException] = {}

    def _run(self, broken: Broken, workdir: Path) -> SuiteRun | BaseException:
        try:
            return run_suite(broken.config(workdir / "receiver.sqlite3"), broken.provider,
                             workdir / "run", events=broken.events,
                             signing_url=broken.signing_url,
                             extra_args=(*broken.suite_args, "--junitxml", "junit.xml"))
        except BaseException as exc:  # reported by the test of this receiver
            return exc

    def prefetch(self, wanted: list[Broken]) -> None:
        # temporary directories are made here, not in the worker threads
        workdirs = [self.factory.mktemp(b.name) for b in wanted]
        with ThreadPoolExecutor(WORKERS) as pool:
            for broken, outcome in zip(wanted, pool.map(self._run, wanted, workdirs),
                                       strict=True):
                self.done[broken.name] = outcome

    def __getitem__(self, broken: Broken) -> SuiteRun:
        if broken.name not in self.done:
            self.done[broken.name] = self._run(broken, self.factory.mktemp(broken.name))
        outcome = self.done[broken.name]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture(scope="module")
def suite_runs(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> SuiteRuns:
    """Runs the suite against every selected broken receiver up front, several at a time
    (under pytest-xdist, where a worker does not know its tests in advance: one by one)."""
    runs = SuiteRuns(tmp_path_factory)
    if not hasattr(request.config, "workerinput"):
        selected = {id(callspec.params.get("broken")) for item in request.session.items
                    if (callspec := getattr(item, "callspec", None)) is not None}
        runs.prefetch([b for b in BROKEN if id(b) in selected])
    return runs


@pytest.mark.parametrize("broken", BROKEN, ids=[b.name for b in BROKEN])
def test_the_suite_catches_exactly_the_intended_checks(
        broken: Broken, suite_runs: SuiteRuns) -> None:
    run = suite_runs[broken]
    results = run.results
    assert results, run.output[-3000:]
    assert {r["event"] for r in results} - {None} == set(broken.events)

    intended = broken.intended(run)
    caught = run.failed
    assert {c for c, _ in caught} == set(broken.fails), (
        f"{broken.name} ({broken.defect}):\n  missed: "
        f"{sorted(set(broken.fails) - {c for c, _ in caught})}\n  unrelated: "
        f"{sorted({c for c, _ in caught} - set(broken.fails))}\n{run.output[-4000:]}")
    assert caught == intended, (f"missed: {sorted(intended - caught, key=str)}; "
                                f"unrelated: {sorted(caught - intended, key=str)}")
    # everything else ran and passed: nothing "not observed", nothing skipped but a check
    # that cannot apply to a loopback URL (the default-port variant of a URL with a port)
    others = {(r["check"], r["event"], r["outcome"]) for r in results
              if (r["check"], r["event"]) not in intended
              and not str(r.get("reason", "")).startswith("not applicable")}
    assert all(outcome == "pass" for _, _, outcome in others), sorted(
        o for o in others if o[2] != "pass")
    # a required failure fails the run; recommended ones alone do not
    required = [r for r in results if r["outcome"] == "fail" and r["severity"] == "required"]
    assert run.returncode == (1 if required else 0), run.output[-3000:]
    assert run.report["conformant"] is not bool(required)


def test_a_failure_shows_the_curl_line_and_no_traceback(suite_runs: SuiteRuns) -> None:
    run = suite_runs[BY_NAME["accepts_unsigned"]]
    (failure,) = [f for f in run.report["targets"][0]["failures"]
                  if f["check"] == "signature.missing_rejected"]
    assert failure["severity"] == "required"

    junit = ET.parse(run.workdir / "junit.xml").getroot()
    failed = [case for case in junit.iter("testcase")
              if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == [
        "test_signature[missing_rejected-message.created]"]
    text = failed[0].find("failure").text or ""  # type: ignore[union-attr]
    terminal = run.output
    for shown in (text, terminal):
        assert "[signature.missing_rejected] an unsigned delivery was accepted" in shown
        assert f"reproduce (signature computed with ${SECRET_ENV}, not shown):" in shown
        assert "curl -sS -i -X POST" in shown
        assert "got:      HTTP 200" in shown
        assert "Traceback" not in shown
        assert "hookproof/checks/" not in shown and "hookproof/reach/" not in shown
        assert "_pytest" not in shown  # no frames
        assert SECRET not in shown
    curl = next(line for line in text.splitlines() if line.lstrip().startswith("curl "))
    assert "X-Varda-Signature" not in curl  # the defect: sent without a signature
    assert "/varda" in curl


def test_every_check_is_proven_by_a_broken_receiver() -> None:
    """A check added to the registry without a broken receiver that it catches fails here."""
    proven = {check for broken in BROKEN for check in broken.fails}
    assert proven <= set(REGISTRY), sorted(proven - set(REGISTRY))
    missing = sorted(set(REGISTRY) - proven)
    assert not missing, f"no broken receiver proves these checks catch anything: {missing}"


def test_each_broken_receiver_has_exactly_one_defect(tmp_path: Path) -> None:
    names = [b.name for b in BROKEN]
    assert len(set(names)) == len(names)
    for broken in BROKEN:
        broken.config(tmp_path / broken.name / "receiver.sqlite3")  # asserts one part changed
        assert broken.events and broken.fails, broken.name


def test_one_cause_is_shown_in_full_once(suite_runs: SuiteRuns) -> None:
    """The same check failing the same way on several events: one full block in the
    terminal, the other events listed under it, and one line for each of them; the Markdown
    opens on the distinct problems, the matrix folded."""
    run = suite_runs[BY_NAME["refuses_every_genuine_prehook"]]
    output = run.output
    assert "the same problem on 1 other event(s): onConversationAdd" in output
    assert "the same problem as test_signature[valid_accepted-onMessageAdd] (shown in full "\
        "there)" in output
    assert output.count("hookproof: every correctly signed delivery was refused") == 1
    markdown = (run.workdir / "conformance.md").read_text(encoding="utf-8")
    assert markdown.index("distinct problem(s)") < markdown.index("<details><summary>Matrix")
    assert "**a correctly signed delivery was not accepted: refused exactly as a forged " \
        "delivery is** — `signature.valid_accepted`" in markdown
