"""Fuzz checks: generated payloads find defects no example does; the reference receiver passes.

The suite runs as a subprocess against receivers served in a thread, exactly as a user runs
it, with the default seed and budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fuzz_receivers import DEFECTS, Defect, broken_config
from hookproof.catalogue import load_catalogue
from hookproof.catalogue.validation import engine_for
from hookproof.receiver import ReceiverConfig, create_app
from receivers import run_in_thread

SECRET = "fuzz-test-secret"
PROVIDERS = sorted(load_catalogue().providers)
FUZZ = {"fuzz.generated_accepted", "fuzz.invalid_handled"}


def run_suite(base: str, provider: str, tmp: Path, *extra: str) -> tuple[int, dict[str, Any],
                                                                        str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               "--target-url", f"{base}/{provider}", "--provider", provider,
               "--effects-url", f"{base}/{provider}/effects", "--secret-env", "X",
               "--hookproof-reports", str(tmp), *extra]
    done = subprocess.run(command, env=dict(os.environ, X=SECRET), cwd=tmp,
                          capture_output=True, text=True, timeout=600, check=False)
    report_file = tmp / "conformance.json"
    assert report_file.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return done.returncode, json.loads(report_file.read_text(encoding="utf-8")), done.stdout


def _config(tmp_path: Path) -> ReceiverConfig:
    # one receiver for many runs: see ReceiverConfig.replay_protection
    return ReceiverConfig(db=tmp_path / "receiver.sqlite3",
                          secrets=dict.fromkeys(PROVIDERS, SECRET), replay_protection=False)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base, stop = run_in_thread(create_app(_config(tmp_path_factory.mktemp("reference"))))
    yield base
    stop()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reference_receiver_passes_fuzz_checks(reference: str, provider: str,
                                               tmp_path: Path) -> None:
    code, report, stdout = run_suite(reference, provider, tmp_path)
    results = report["targets"][0]["results"]
    assert code == 0, stdout[-4000:]
    # everything passes; only the default-port variant of a loopback URL (which carries its
    # port) cannot apply here
    assert [r for r in results if r["outcome"] != "pass"
            and not str(r.get("reason", "")).startswith("not applicable")] == []
    events = {e.name for e in load_catalogue().provider(provider).events}
    for check in FUZZ:
        assert {r["event"] for r in results if r["check"] == check} == events
    assert report["seed"] == 0
    assert "fuzz: seed 0" in stdout


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_defect_only_fuzzing_finds(defect: Defect, tmp_path: Path) -> None:
    app = create_app(broken_config(defect, _config(tmp_path)))
    base, stop = run_in_thread(app)
    try:
        code, report, stdout = run_suite(base, defect.provider, tmp_path,
                                         "--events", defect.event)
    finally:
        stop()
    target = report["targets"][0]
    failing = {r["check"] for r in target["results"] if r["outcome"] == "fail"}
    assert code == 1, stdout[-4000:]
    assert failing == {"fuzz.generated_accepted"}, (defect.description, failing)
    for failure in target["failures"]:
        assert "seed 0" in failure["title"]
        assert failure["reproduction"].startswith("curl ")
        body = _body(failure["request"]["body_head"])
        if body is not None:
            # the failure carries the shrunk payload, which still has the defect's shape
            assert defect.predicate(body), body
    assert "replay: --hookproof-seed 0" in stdout


def _body(text: str) -> Any:
    if "… (" in text:  # a truncated head
        return None
    try:
        return json.loads(text)
    except ValueError:
        from hookproof.transport.encoding import decode_form

        return decode_form(text)


# -- generation, in process ----------------------------------------------------------------------


def _generate(provider_id: str, event_name: str, mode: str, n: int = 5,
              seed: int = 0) -> list[Any]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    from hookproof.checks.generation import payload_strategy

    provider = load_catalogue().provider(provider_id)
    event = provider.event(event_name)
    out: list[Any] = []

    @fixed_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(payload_strategy(provider, event, mode))  # type: ignore[arg-type]
    def collect(payload: Any) -> None:
        out.append(payload)

    collect()
    return out


@pytest.mark.parametrize(("provider", "event"), [("twilio-conversations", "onMessageAdded"),
                                                  ("twilio-frontline", "GetCustomersList"),
                                                  ("varda", "call.ended")])
def test_generated_payloads_fit_the_contract(provider: str, event: str) -> None:
    spec = load_catalogue().provider(provider)
    validator = engine_for().validator(spec.event(event).request)
    positive = _generate(provider, event, "positive")
    negative = _generate(provider, event, "negative")
    assert positive and negative
    for payload in positive:
        assert spec.event_name_of(payload) == event
        assert validator.validate(payload).ok, payload
    for payload in negative:
        assert spec.event_name_of(payload) == event
        assert not validator.validate(payload).ok, payload
    if spec.transport.encoding == "form":
        for payload in positive + negative:
            assert all(isinstance(v, str) or (isinstance(v, list) and all(
                isinstance(i, str) for i in v)) for v in payload.values()), payload


def test_same_seed_same_payloads() -> None:
    first = _generate("operator", "conversation.setup", "positive", seed=7)
    assert first == _generate("operator", "conversation.setup", "positive", seed=7)
    assert first != _generate("operator", "conversation.setup", "positive", seed=8)


def test_format_strategies_pass_the_format_checks() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hookproof.catalogue.formats import FORMATS
    from hookproof.checks.generation import format_strategies

    strategies = format_strategies()
    assert set(strategies) == set(FORMATS)

    @settings(max_examples=50, database=None, deadline=None)
    @given(st.sampled_from(sorted(strategies)).flatmap(
        lambda name: st.tuples(st.just(name), strategies[name])))
    def check(pair: tuple[str, str]) -> None:
        name, value = pair
        assert FORMATS[name](value)

    check()
