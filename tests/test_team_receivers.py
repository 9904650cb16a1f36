"""No false alarm: correct receivers written the way teams write them pass the suite.

Each receiver of :mod:`team_receivers` is a real HTTP server on 127.0.0.1 built on the
platform's own library (twilio's ``RequestValidator``, werkzeug's ``ProxyFix``), or the
reference receiver doing its work asynchronously. The suite runs against each exactly as a user
runs it; a correct receiver may collect recommended findings (where the platform's docs are
silent) but never a required one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broken import PUBLIC_URL, SECRET, SuiteRun, run_suite, run_suite_at
from hookproof.catalogue import load_catalogue
from hookproof.catalogue.validation import engine_for
from hookproof.checks import REGISTRY, Case, run
from hookproof.checks.failures import CheckFailure
from hookproof.checks.generation import DEFAULT_EXAMPLES
from hookproof.reach.settings import Settings
from hookproof.reach.target import make_target
from hookproof.receiver.config import ReceiverConfig
from team_receivers import (
    PREFIX,
    AsyncEffectsStore,
    serve_in_process,
    serve_wsgi,
    twilio_flask_app,
)

FUZZ_SEEDS = tuple(range(1, 21))
"""Seeds besides the default (0) that a correct receiver must pass the fuzz checks with."""
assert len(FUZZ_SEEDS) >= 20


@pytest.fixture(scope="module")
def flask_conversations() -> Iterator[str]:
    """A Flask + RequestValidator Twilio Conversations receiver in its own process; yields
    its base URL."""
    base, stop = serve_in_process(SECRET)
    yield base
    stop()


def _flask_run(base: str, provider: str, workdir: Path, *extra: str,
               signing_url: str | None = None) -> SuiteRun:
    return run_suite_at(f"{base}{PREFIX}", provider, workdir,
                        effects_url=f"{base}{PREFIX}/effects", signing_url=signing_url,
                        extra_args=extra, timeout=300)


def _required(run: SuiteRun) -> list[tuple[str, str | None, str]]:
    return sorted((f["check"], f["event"], f["title"])
                  for f in run.report["targets"][0]["failures"] if f["severity"] == "required")


def _outcomes(run: SuiteRun, check: str) -> dict[str | None, tuple[str, str]]:
    return {r["event"]: (r["outcome"], r["severity"]) for r in run.results
            if r["check"] == check}


def test_request_validator_receiver_passes_with_plain_ok_answers(
        flask_conversations: str, tmp_path: Path) -> None:
    """Pre-events answered ``200 OK`` in text/plain (Express ``res.sendStatus(200)``): the
    docs are silent on a text body, so that is a recommended finding, never a required one;
    every genuine delivery, fuzzed ones included, is accepted."""
    run = _flask_run(flask_conversations, "twilio-conversations", tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    assert _required(run) == []
    assert run.report["conformant"] is True
    shape = _outcomes(run, "response.prehook_shape")
    assert shape and set(shape.values()) == {("fail", "recommended")}, shape
    failure = next(f for f in run.report["targets"][0]["failures"]
                   if f["check"] == "response.prehook_shape")
    assert failure["title"] == "the hook's answer is not JSON"
    assert "empty body or {}" in (failure["hint"] or "")
    for check in ("signature.valid_accepted", "payload.documented_example_accepted",
                  "idempotency.sequential_duplicate", "idempotency.concurrent_duplicates",
                  "signature.malformed_header_rejected", "fuzz.invalid_handled"):
        assert {o for o, _ in _outcomes(run, check).values()} == {"pass"}, check


SEED_CHUNKS = [FUZZ_SEEDS[i:i + 5] for i in range(0, len(FUZZ_SEEDS), 5)]
"""The seeds in chunks, so that pytest-xdist spreads them over its workers."""


@pytest.mark.parametrize("seeds", SEED_CHUNKS, ids=[f"seeds-{c[0]}-{c[-1]}" for c in SEED_CHUNKS])
def test_request_validator_receiver_passes_fuzzing_with_other_seeds(
        flask_conversations: str, seeds: tuple[int, ...]) -> None:
    """Generated payloads are ones Twilio could send (no ``Media=`` empty, ``Media`` always
    JSON text): a receiver refusing non-JSON ``Media`` with 400 is never failed for it, with
    any of 20 other seeds. The suite's own check function runs in-process, once per event and
    seed, against the same live receiver (the strategies are built once for all seeds)."""
    provider = load_catalogue().provider("twilio-conversations")
    check = REGISTRY["fuzz.generated_accepted"]
    required: list[str] = []
    judged = 0
    for seed in seeds:
        settings = Settings(target_url=f"{flask_conversations}{PREFIX}", provider=provider.id,
                            seed=seed, fuzz_examples=DEFAULT_EXAMPLES)
        target = make_target(provider, settings, secret=SECRET, engine=engine_for())
        try:
            for event in provider.events:
                judged += 1
                try:
                    run(Case(check, provider, event), target)
                except CheckFailure as failure:
                    if failure.severity == "required":
                        required.append(f"seed {seed}: {failure}")
        finally:
            target.client.close()
    assert judged == len(seeds) * len(provider.events) == 5 * 23
    assert required == [], required[0]


def test_frontline_receiver_answering_empty_object_passes(tmp_path: Path) -> None:
    """``{}`` to onConversationAdd (nothing to change, both keys optional in the docs) passes,
    behind werkzeug's ProxyFix with ``--signing-url``: the suite sends the proxy headers, so
    the receiver verifies over the public URL, and the ``:443`` variant applies."""
    app = twilio_flask_app(SECRET, tmp_path / "db.sqlite3", frontline=True, proxy_fix=True)
    base, stop = serve_wsgi(app)
    try:
        run = _flask_run(base, "twilio-frontline", tmp_path / "run",
                         signing_url=f"{PUBLIC_URL}{PREFIX}")
    finally:
        stop()
    assert run.returncode == 0, run.output[-3000:]
    assert _required(run) == []
    assert _outcomes(run, "response.prehook_shape")["onConversationAdd"][0] == "pass"
    port = _outcomes(run, "signature.port_variant_accepted")
    assert port and {o for o, _ in port.values()} == {"pass"}
    unknown = _outcomes(run, "payload.unknown_event_handled")
    # one case per hook group: the conversations hook and each callback group
    assert {"onConversationAdd", "GetCustomerDetailsByCustomerId", "GetProxyAddress",
            "GetTemplatesByCustomerId"} <= set(unknown)


def test_proxy_fix_receiver_fails_without_the_proxy_headers(tmp_path: Path) -> None:
    """The same ProxyFix receiver with ``--no-forwarded``: it rebuilds the loopback URL and
    refuses every genuine delivery exactly as a forged one; the suite says so once."""
    app = twilio_flask_app(SECRET, tmp_path / "db.sqlite3", frontline=True, proxy_fix=True)
    base, stop = serve_wsgi(app)
    try:
        run = _flask_run(base, "twilio-frontline", tmp_path / "run", "--no-forwarded",
                         "--fuzz-examples", "0", "--events", "onConversationAdd",
                         signing_url=f"{PUBLIC_URL}{PREFIX}")
    finally:
        stop()
    assert run.returncode == 1
    valid = _outcomes(run, "signature.valid_accepted")
    assert valid == {"onConversationAdd": ("fail", "required")}
    assert run.report["targets"][0]["diagnosis"].startswith(
        "every correctly signed delivery was refused")
    assert run.output.count("every correctly signed delivery was refused") == 1


def _async_run(tmp_path: Path, *extra: str) -> SuiteRun:
    config = ReceiverConfig(db=tmp_path / "db.sqlite3", secrets={"varda": SECRET})
    config = dataclasses.replace(config, store=AsyncEffectsStore(config.db))
    return run_suite(config, "varda", tmp_path / "run", events=("message.created",),
                     extra_args=("-k", "idempotency", *extra))


def test_asynchronous_receiver_passes_behind_the_effects_probe(tmp_path: Path) -> None:
    """Work done 0.3 s after the answer is seen by the probe (polled up to --effects-wait)."""
    run = _async_run(tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    assert {r["outcome"] for r in run.results} == {"pass"}


def test_without_waiting_the_asynchronous_receiver_is_told_it_processed_nothing(
        tmp_path: Path) -> None:
    """``--effects-wait 0`` reads the probe at once: the finding says "never processed", with
    the hint for that case, not the dedupe hint of "processed twice"."""
    run = _async_run(tmp_path, "--effects-wait", "0")
    assert run.returncode == 1
    failures: list[dict[str, Any]] = run.report["targets"][0]["failures"]
    assert failures
    for failure in failures:
        assert "never processed" in failure["title"]
        assert "queued" in failure["hint"] and "unique constraint" not in failure["hint"]
