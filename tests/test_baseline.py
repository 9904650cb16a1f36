"""Baselines: known failures recorded once, then reported without failing the run.

``--hookproof-baseline PATH --hookproof-baseline-update`` against a receiver that accepts
anything writes its failures; the next run with ``--hookproof-baseline PATH`` exits 0 and the
report marks them baselined; a new defect (a handler that crashes on one event) still fails
the run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reportkit import APPS, CRASHING_EVENT, PROVIDER, Run, run_suite, validate

# Only the checks the two defects touch, and short tracebacks: keeps the three runs quick.
SELECT = ("-k", "signature or missing_required", "--tb=line")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("baseline")
    baseline = workdir / "known-failures.json"
    # relative to where pytest is invoked, as a user would write it
    option = ("--hookproof-baseline", baseline.name)
    record = run_suite(workdir / "record", APPS["accept_all"](), *SELECT,
                       "--hookproof-baseline", str(baseline), "--hookproof-baseline-update")
    known = json.loads(baseline.read_text(encoding="utf-8"))
    (workdir / "again").mkdir()
    (workdir / "again" / baseline.name).write_text(baseline.read_text(encoding="utf-8"))
    (workdir / "new").mkdir()
    (workdir / "new" / baseline.name).write_text(baseline.read_text(encoding="utf-8"))
    again = run_suite(workdir / "again", APPS["accept_all"](), *SELECT, *option)
    new = run_suite(workdir / "new", APPS["accept_all_crash"](), *SELECT, *option)
    return {"record": record, "known": known, "again": again, "new": new,
            "baseline": baseline}


def failing(run: Run) -> set[str]:
    return {f"{PROVIDER}/{r['event'] or '(provider)'}/{r['check']}"
            for r in run.report["targets"][0]["results"] if r["outcome"] == "fail"}


def test_update_writes_the_known_failures(runs: dict[str, Any]) -> None:
    record: Run = runs["record"]
    # recording a baseline accepts today's failures: the run exits 0, and the terminal and
    # the report agree that they are baselined
    assert record.returncode == 0, record.stdout[-2000:]
    assert f"baseline written: {runs['baseline']}" in record.stdout
    known = runs["known"]["known_failures"]
    assert known == sorted(known) and known
    assert set(known) == failing(record)
    assert any(k.endswith("/signature.missing_rejected") for k in known)
    summary = record.report["targets"][0]["summary"]
    assert summary["baselined"] == len(known) == summary["fail"]
    assert summary["fail_required"] == summary["fail_recommended"] == 0
    assert f"{len(known)} baselined" in record.stdout
    assert "fail (required)" not in record.stdout
    assert record.report["conformant"] is True


def test_baselined_failures_do_not_fail_the_run(runs: dict[str, Any]) -> None:
    again: Run = runs["again"]
    assert again.returncode == 0, again.stdout[-3000:]
    report = again.report
    validate(report)
    assert report["conformant"] is True
    (target,) = report["targets"]
    s = target["summary"]
    known = set(runs["known"]["known_failures"])
    assert s["baselined"] == len(known) > 0
    assert s["fail_required"] == s["fail_recommended"] == 0
    assert s["fail"] == len(known)
    assert all(r["baselined"] for r in target["results"] if r["outcome"] == "fail")
    assert all(f["baselined"] for f in target["failures"])
    # still reported in full, marked as known
    markdown = (again.reports / "conformance.md").read_text(encoding="utf-8")
    assert "(baselined)" in markdown and "ᵇ" in markdown
    html_text = (again.reports / "conformance.html").read_text(encoding="utf-8")
    assert html_text.count('class="fail required baselined"') + html_text.count(
        'class="fail recommended baselined"') == len(known)


def test_a_new_defect_still_fails_the_run(runs: dict[str, Any]) -> None:
    new: Run = runs["new"]
    assert new.returncode == 1, new.stdout[-3000:]
    report = new.report
    validate(report)
    assert report["conformant"] is False
    (target,) = report["targets"]
    known = set(runs["known"]["known_failures"])
    fresh = failing(new) - known
    # the second defect: the handler of one event crashes (500), so even a valid delivery of
    # it fails; every other failure is a known one
    assert fresh and all(k.split("/")[1] == CRASHING_EVENT for k in fresh), fresh
    assert f"{PROVIDER}/{CRASHING_EVENT}/signature.valid_accepted" in fresh
    for result in target["results"]:
        key = f"{PROVIDER}/{result['event'] or '(provider)'}/{result['check']}"
        if result["outcome"] == "fail":
            assert result["baselined"] is (key in known), key
    s = target["summary"]
    # known failures still reported as baselined (the crashing event's ones included)
    assert s["baselined"] == len(failing(new) & known) > 0
    new_required = [r for r in target["results"] if r["outcome"] == "fail"
                    and not r["baselined"] and r["severity"] == "required"]
    assert s["fail_required"] == len(new_required) > 0
    assert "valid_accepted-contact.updated" in new.stdout  # pytest names the failing test


def test_entries_that_now_pass_are_reported_stale(tmp_path: Any) -> None:
    """A baseline entry whose check passes today is named, in the terminal and the report,
    so that the file is trimmed instead of hiding a regression later."""
    stale = f"{PROVIDER}/contact.updated/signature.valid_accepted"
    (tmp_path / "known.json").write_text(json.dumps({"known_failures": [stale]}))
    run = run_suite(tmp_path, APPS["accept_all"](), *SELECT,
                    "--hookproof-baseline", "known.json")
    validate(run.report)
    (target,) = run.report["targets"]
    assert target["stale_baseline"] == [stale]
    assert f"stale baseline entry (passes now): {stale}" in run.stdout
    markdown = (run.reports / "conformance.md").read_text(encoding="utf-8")
    assert "Stale baseline entries" in markdown and stale in markdown
