"""A run under pytest-xdist (``-n 2``) writes the same report as a serial run.

Records travel from the workers to the controller in the test reports' ``user_properties``;
only the controller writes the report. Timings differ between runs; the targets, the results
(check, event, outcome), the summary counts and the coverage must not.
"""

from __future__ import annotations

import pytest

from reportkit import Run, cached_run, results_set, validate

pytest.importorskip("xdist", reason="pytest-xdist is in the test extra: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    serial = cached_run(tmp_path_factory, "reference")
    parallel = cached_run(tmp_path_factory, "reference", "-n", "2")
    for run in (serial, parallel):
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return serial, parallel


def test_xdist_run_really_ran_on_workers(runs: tuple[Run, Run]) -> None:
    _, parallel = runs
    assert "bringing up nodes" in parallel.stdout
    # the controller reports once, workers never
    assert parallel.stdout.count("conformance report:") == 1


def test_xdist_report_equals_serial_report(runs: tuple[Run, Run]) -> None:
    serial, parallel = runs
    one, two = serial.report, parallel.report
    validate(two)
    assert [(t["name"], t["provider"], t["url"]) for t in one["targets"]] == [
        (t["name"], t["provider"], t["url"].replace(_port(parallel), _port(serial)))
        for t in two["targets"]]
    assert results_set(one) == results_set(two)
    assert len(one["targets"][0]["results"]) == len(two["targets"][0]["results"])
    for a, b in zip(one["targets"], two["targets"], strict=True):
        assert a["summary"] == b["summary"]
        assert a["coverage"] == b["coverage"]
        assert a["failures"] == b["failures"] == []
    assert one["conformant"] is two["conformant"] is True
    assert one["providers"] == two["providers"]


def test_xdist_report_has_latency_samples(runs: tuple[Run, Run]) -> None:
    serial, parallel = runs
    latency = {row["event"]: row["samples"] for row in parallel.report["targets"][0]["latency"]}
    expected = {row["event"]: row["samples"] for row in serial.report["targets"][0]["latency"]}
    assert latency.keys() == expected.keys() and latency
    # the same deliveries were answered and timed, wherever they ran
    assert latency == expected
    assert all(row["max_ms"] > 0 for row in parallel.report["targets"][0]["latency"])


def _port(run: Run) -> str:
    return run.report["targets"][0]["url"].rsplit("/", 1)[0]
