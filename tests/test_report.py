"""conformance.json: its schema, the reports real runs write, and the report arithmetic."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from typing import Any

import jsonschema
import pytest

from hookproof.catalogue import load_catalogue
from hookproof.reports.document import OUTCOMES, document, merge, percentile, schema, target_section
from reportkit import REPO, cached_run, demo_run, validate


def check_consistent(report: dict[str, Any]) -> None:
    """What the schema cannot say: the counts add up and match the results."""
    failing = 0
    for target in report["targets"]:
        s = target["summary"]
        results = target["results"]
        assert s["checks"] == len(results) == sum(s[o] for o in OUTCOMES)
        for outcome in OUTCOMES:
            assert s[outcome] == sum(1 for r in results if r["outcome"] == outcome)
        fails = [r for r in results if r["outcome"] == "fail"]
        assert s["fail_required"] == sum(1 for r in fails if r["severity"] == "required"
                                         and not r["baselined"])
        assert s["fail_recommended"] == sum(1 for r in fails if r["severity"] == "recommended"
                                            and not r["baselined"])
        assert s["baselined"] == sum(1 for r in results if r["baselined"])
        # every failing result has its failure, with what was sent and what came back
        assert Counter((f["check"], f["event"]) for f in target["failures"]) == Counter(
            (r["check"], r["event"]) for r in fails)
        c = target["coverage"]
        assert c["events_exercised"] <= c["events_declared"]
        assert c["ratio"] == pytest.approx(c["events_exercised"] / c["events_declared"], abs=1e-4)
        for row in target["latency"]:
            assert row["p50_ms"] <= row["p95_ms"] <= row["max_ms"]
            assert row["budget_ms"] > 0
        failing += s["fail_required"] + (s["fail_recommended"] if report["strict"] else 0)
    assert report["conformant"] is (failing == 0)
    assert report["providers"] == sorted({t["provider"] for t in report["targets"]})


# -- the schema --------------------------------------------------------------------------------


def test_schema_is_a_valid_2020_12_schema_and_ships_with_the_package() -> None:
    document_ = schema()
    assert document_["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document_)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["hookproof.reports"]
    assert "report.schema.json" in shipped


def _minimal_report() -> dict[str, Any]:
    section = target_section(
        name="t", provider={"id": "varda", "events": ["a.b"], "budgets": {"a.b": 10}},
        url="http://127.0.0.1:1/varda",
        records=[{"check": "signature.valid_accepted", "event": "a.b", "severity": "required",
                  "outcome": "pass", "latencies_ms": [["a.b", 3.0]]}])
    return document([section], started="2026-01-01T00:00:00+00:00", duration=0.5)


def test_schema_accepts_a_minimal_report() -> None:
    validate(_minimal_report())


@pytest.mark.parametrize("breakage", [
    ("outcome", lambda r: r["targets"][0]["results"][0].update(outcome="error")),
    ("severity", lambda r: r["targets"][0]["results"][0].update(severity="optional")),
    ("missing summary key", lambda r: r["targets"][0]["summary"].pop("baselined")),
    ("extra key", lambda r: r.update(surprise=1)),
    ("no targets", lambda r: r.update(targets=[])),
    ("negative count", lambda r: r["targets"][0]["summary"].__setitem__("pass", -1)),
    ("latency without budget", lambda r: r["targets"][0]["latency"][0].pop("budget_ms")),
    ("ratio above 1", lambda r: r["targets"][0]["coverage"].update(ratio=1.5)),
    ("started not a date", lambda r: r.update(started="yesterday")),
], ids=lambda b: b[0] if isinstance(b, tuple) else "")
def test_schema_rejects_broken_reports(breakage: Any) -> None:
    report = _minimal_report()
    breakage[1](report)
    with pytest.raises(AssertionError, match="does not match"):
        validate(report)


# -- reports of real runs ---------------------------------------------------------------------


def test_serial_run_report_validates(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = cached_run(tmp_path_factory, "reference")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = run.report
    validate(report)
    check_consistent(report)
    assert report["conformant"] is True
    assert report["providers"] == ["varda"]
    (target,) = report["targets"]
    assert target["summary"]["pass"] == target["summary"]["checks"] > 0
    assert target["failures"] == []
    declared = [e.name for e in load_catalogue().provider("varda").events]
    assert target["coverage"] == {"events_declared": len(declared),
                                  "events_exercised": len(declared), "ratio": 1.0}
    assert [row["event"] for row in target["latency"]] == declared
    assert all(row["samples"] > 0 for row in target["latency"])
    assert {p.name for p in run.reports.iterdir()} >= {
        "conformance.json", "conformance.md", "conformance.html"}


def test_broken_receiver_report_validates_and_explains(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    run = cached_run(tmp_path_factory, "two_defects")
    assert run.returncode == 1
    report = run.report
    validate(report)
    check_consistent(report)
    assert report["conformant"] is False
    (target,) = report["targets"]
    s = target["summary"]
    assert s["fail_required"] > 0 and s["fail_recommended"] > 0
    failing_checks = {f["check"] for f in target["failures"]}
    # accepts anything: unsigned and wrongly signed deliveries get in...
    assert {"signature.missing_rejected", "signature.wrong_secret_rejected"} <= failing_checks
    # ...and validates nothing: a payload missing a required field is accepted
    assert "payload.missing_required_handled" in failing_checks
    missing = next(f for f in target["failures"]
                   if f["check"] == "payload.missing_required_handled")
    assert missing["severity"] == "recommended"
    assert missing["json_path"].startswith("$")
    unsigned = next(f for f in target["failures"] if f["check"] == "signature.missing_rejected")
    assert unsigned["expected"] == "4xx" and unsigned["got"].startswith("HTTP 2")
    assert unsigned["request"]["method"] == "POST"
    assert unsigned["request"]["url"] == target["url"]
    assert unsigned["request"]["body_head"].startswith("{")
    assert unsigned["response"]["status"] == 200 and unsigned["response"]["error"] is None
    assert unsigned["reproduction"].startswith("curl ") and target["url"] in (
        unsigned["reproduction"])


def test_demo_report_validates(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = demo_run(tmp_path_factory)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = run.report
    validate(report)
    check_consistent(report)
    providers = sorted(load_catalogue().providers)
    assert len(providers) == 5
    assert report["providers"] == providers
    assert sorted(t["name"] for t in report["targets"]) == providers
    assert report["conformant"] is True
    for target in report["targets"]:
        assert target["summary"]["checks"] > 0
        assert target["summary"]["fail_required"] == 0
        assert target["latency"], target["name"]
    html_text = (run.reports / "conformance.html").read_text(encoding="utf-8")
    assert html_text.count('<section class="target"') == 5


# -- the arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "fraction", "expected"), [
    ([1, 2, 3, 4], 0.50, 2),
    ([1, 2, 3, 4], 0.95, 4),
    ([5], 0.50, 5),
    ([5], 0.95, 5),
    ([], 0.50, 0.0),
    ([3, 1, 2], 0.50, 2),  # unordered input
    (list(range(1, 101)), 0.95, 95),
    (list(range(1, 101)), 0.50, 50),
    (list(range(1, 21)), 0.95, 19),
    ([10, 10, 10, 1000], 0.95, 1000),
])
def test_percentile_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def _record(check: str, event: str | None, outcome: str, severity: str = "required",
            baselined: bool = False, latencies: list[tuple[str, float]] | None = None,
            ) -> dict[str, Any]:
    failure = None
    if outcome == "fail":
        failure = {"check": check, "provider": "varda", "event": event, "severity": severity,
                   "title": "t", "expected": "4xx", "got": "HTTP 200", "json_path": None,
                   "schema_path": None, "details": [], "hint": None, "request": None,
                   "response": None, "reproduction": None}
    return {"provider": "varda", "check": check, "event": event, "severity": severity,
            "outcome": outcome, "failure": failure, "baselined": baselined,
            "latencies_ms": latencies or []}


PROVIDER = {"id": "varda", "events": ["e.one", "e.two", "e.three", "e.four"],
            "budgets": {"e.one": 10, "e.two": 2.5, "e.three": 10, "e.four": 10}}


def test_target_section_counts_coverage_and_latency() -> None:
    records = [
        _record("signature.valid_accepted", "e.one", "pass",
                latencies=[("e.one", 4.0), ("e.one", 2.0), ("e.one", 9.0)]),
        _record("signature.valid_accepted", "e.two", "pass", latencies=[("e.two", 1.0)]),
        _record("signature.missing_rejected", "e.one", "fail"),
        _record("signature.missing_rejected", "e.two", "fail", baselined=True),
        _record("payload.missing_required_handled", "e.one", "fail", severity="recommended"),
        _record("idempotency.sequential_duplicate", "e.two", "not_observed"),
        _record("payload.unknown_event_handled", None, "pass"),
        _record("fuzz.generated_accepted", "e.one", "skipped"),
        _record("payload.minimal_accepted", "not.declared", "pass"),
    ]
    section = target_section(name="v", provider=PROVIDER, url="http://x/varda", records=records)
    assert section["summary"] == {"pass": 4, "fail": 3, "not_observed": 1, "skipped": 1,
                                  "not_run": 0,
                                  "checks": 9, "fail_required": 1, "fail_recommended": 1,
                                  "baselined": 1}
    # only declared events count; e.three and e.four were never delivered
    assert section["coverage"] == {"events_declared": 4, "events_exercised": 2, "ratio": 0.5}
    assert section["latency"] == [
        {"event": "e.one", "samples": 3, "p50_ms": 4.0, "p95_ms": 9.0, "max_ms": 9.0,
         "budget_ms": 10000.0},
        {"event": "e.two", "samples": 1, "p50_ms": 1.0, "p95_ms": 1.0, "max_ms": 1.0,
         "budget_ms": 2500.0},
    ]
    assert [f["baselined"] for f in section["failures"]] == [False, True, False]
    report = document([section], started="2026-01-01T00:00:00+00:00", duration=1.23456)
    validate(report)
    check_consistent(report)
    assert report["conformant"] is False
    assert report["duration_seconds"] == 1.235


def test_verdict_counts_recommended_only_when_strict() -> None:
    records = [_record("payload.missing_required_handled", "e.one", "fail",
                       severity="recommended"),
               _record("signature.missing_rejected", "e.one", "fail", baselined=True)]
    section = target_section(name="v", provider=PROVIDER, url=None, records=records)
    started = "2026-01-01T00:00:00Z"
    assert document([section], started=started, duration=0)["conformant"] is True
    assert document([section], started=started, duration=0, strict=True)["conformant"] is False
    validate(document([section], started=started, duration=0))


def test_coverage_of_a_provider_without_events_is_full() -> None:
    section = target_section(name="v", provider={"id": "varda", "events": []}, url=None,
                             records=[])
    assert section["coverage"] == {"events_declared": 0, "events_exercised": 0, "ratio": 1.0}
    assert section["summary"]["checks"] == 0


def test_merge_joins_targets_and_keeps_the_verdict() -> None:
    good = target_section(name="a", provider=PROVIDER, url="http://a/varda",
                          records=[_record("signature.valid_accepted", "e.one", "pass")])
    bad = target_section(name="b", provider={**PROVIDER, "id": "operator"},
                         url="http://b/operator",
                         records=[_record("signature.missing_rejected", "e.one", "fail")])
    one = document([good], started="2026-01-01T00:00:00Z", duration=1, seed=7)
    two = document([bad], started="2026-01-01T00:00:01Z", duration=1, seed=7)
    merged = merge([one, two], started="2026-01-01T00:00:00Z", duration=2.5)
    validate(merged)
    check_consistent(merged)
    assert [t["name"] for t in merged["targets"]] == ["a", "b"]
    assert merged["providers"] == ["operator", "varda"]
    assert merged["conformant"] is False
    assert merged["seed"] == 7
    assert merged["duration_seconds"] == 2.5
    # different seeds: none can replay the whole run
    three = document([good], started="2026-01-01T00:00:00Z", duration=1, seed=8)
    assert merge([one, three], started="2026-01-01T00:00:00Z", duration=1)["seed"] is None
    # strict anywhere: strict overall
    strict = document([good], started="2026-01-01T00:00:00Z", duration=1, strict=True)
    assert merge([one, strict], started="2026-01-01T00:00:00Z", duration=1)["strict"] is True
    assert merge([one], started="2026-01-01T00:00:00Z", duration=1)["conformant"] is True
    assert json.loads(json.dumps(merged)) == merged


def test_distinct_problems_have_distinct_headlines() -> None:
    """Pre-event and post-event hooks failing on the same kind of delivery are two problems
    (each expects another answer): their headlines say what tells them apart."""
    from hookproof.reports.outline import problems

    def failure(event: str, expected: str, got: str, check: str = "payload.minimal_accepted"
                ) -> dict[str, Any]:
        return {"check": check, "severity": "required", "event": event,
                "title": "a payload with only the required fields was not accepted",
                "expected": expected, "got": got, "response": {"status": int(got[-3:])}}

    found = problems([failure("onMessageAdd", "2xx or 4xx", "HTTP 500"),
                      failure("onConversationAdd", "2xx or 4xx", "HTTP 500"),
                      failure("onMessageAdded", "2xx", "HTTP 500"),
                      failure("onMessageAdded", "2xx", "HTTP 500",
                              check="payload.nullable_fields_accepted"),
                      failure("onParticipantAdded", "2xx", "HTTP 503")])
    headlines = [p["headline"] for p in found]
    assert len(found) == 4 and len(set(headlines)) == 4, headlines
    assert found[0]["events"] == ["onMessageAdd", "onConversationAdd"]
    assert "expected 2xx or 4xx, got HTTP 500" in headlines[0]
    assert headlines[1].endswith("[payload.minimal_accepted]")  # the answer is the same
    lone = problems([failure("e", "2xx", "HTTP 500")])
    assert lone[0]["headline"] == lone[0]["failure"]["title"]  # nothing to tell apart
