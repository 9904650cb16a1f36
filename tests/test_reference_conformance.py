"""The reference receiver passes the whole suite, and the README's demo command works.

Each provider's full suite (every check, fuzzing included, with a small number of generated
payloads) runs against the reference receiver in its own subprocess, as a user runs it; the
README's ``hookproof demo`` runs end to end alongside. All of them run at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from broken import PUBLIC_URL, SECRET, SuiteRun, run_suite
from hookproof.catalogue import load_catalogue
from hookproof.checks import REGISTRY
from hookproof.receiver.config import ReceiverConfig

PROVIDERS = sorted(load_catalogue().providers)
FUZZ_EXAMPLES = "3"
"""Generated payloads per event and fuzz check (the default is 12): enough to prove the fuzz
checks pass the reference receiver, few enough to keep the five runs quick."""
WORKERS = max(2, min(4, (os.cpu_count() or 2) + 1))


def _demo(workdir: Path) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    # The README's command as is. Fuzzing is off here to keep the five runs quick: the
    # per-provider runs below prove the fuzz checks against the same receiver.
    env = dict(os.environ, HOOKPROOF_FUZZ_EXAMPLES="0")
    return subprocess.run([sys.executable, "-m", "hookproof.cli", "demo", "--reports",
                           str(workdir / "reports")], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


BEHIND_PROXY = {"twilio-conversations", "twilio-frontline", "twilio-orchestrator"}
"""Providers run as deployed behind a TLS proxy (``--signing-url`` with the public URL, the
receiver trusting the proxy headers): Twilio signs a URL with no port, whose ``:443`` variant
``signature.port_variant_accepted`` sends. The others run on the loopback URL itself."""


def _provider(provider: str, workdir: Path) -> SuiteRun:
    config = ReceiverConfig(db=workdir / "receiver.sqlite3", secrets={provider: SECRET})
    return run_suite(config, provider, workdir / "run",
                     signing_url=f"{PUBLIC_URL}/{provider}" if provider in BEHIND_PROXY else None,
                     extra_args=("--fuzz-examples", FUZZ_EXAMPLES))


class Runs:
    """The demo and each provider's suite, each started once in a shared pool."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.pool = ThreadPoolExecutor(WORKERS)
        self.futures: dict[str, Future[Any]] = {}

    def start(self, name: str) -> None:
        if name in self.futures:
            return
        workdir = self.factory.mktemp(name)  # here, not in a worker thread
        job: Callable[[], Any] = ((lambda: _demo(workdir)) if name == "demo"
                                  else (lambda: _provider(name, workdir)))
        self.futures[name] = self.pool.submit(job)

    def __getitem__(self, name: str) -> Any:
        self.start(name)
        return self.futures[name].result()


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Starts the demo and each selected provider's suite together (under pytest-xdist, each
    when its test asks for it)."""
    runs = Runs(tmp_path_factory)
    if not hasattr(request.config, "workerinput"):
        names = {item.name for item in request.session.items}
        # the demo runs five suites one after the other: start it first
        if any(n.startswith("test_demo") for n in names):
            runs.start("demo")
        everything = any(n.startswith("test_every_check_runs") for n in names)
        for provider in PROVIDERS:
            if everything or any(f"[{provider}]" in n for n in names):
                runs.start(provider)
    yield runs
    runs.pool.shutdown(wait=False, cancel_futures=True)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reference_receiver_passes_every_check(provider: str, runs: Runs) -> None:
    run: SuiteRun = runs[provider]
    assert run.returncode == 0, run.output[-4000:]
    results = run.results
    assert results
    not_passed = sorted((r["check"], r["event"] or "(provider)", r["outcome"])
                        for r in results if r["outcome"] != "pass")
    assert not not_passed, not_passed
    (target,) = run.report["targets"]
    assert target["provider"] == provider
    assert target["failures"] == []
    assert target["summary"]["fail_required"] == target["summary"]["fail_recommended"] == 0
    assert run.report["conformant"] is True
    # every event of the provider was exercised
    events = {e.name for e in load_catalogue().provider(provider).events}
    assert {r["event"] for r in results} - {None} == events
    assert target["coverage"]["ratio"] == 1.0


def test_every_check_runs_against_the_reference_receiver(
        runs: Runs) -> None:
    """No check of the registry is vacuous for the reference receiver: each one ran (and
    passed) for at least one provider."""
    ran: set[str] = set()
    for provider in PROVIDERS:
        run: SuiteRun = runs[provider]
        ran |= {r["check"] for r in run.results if r["outcome"] == "pass"}
    assert ran == set(REGISTRY), sorted(set(REGISTRY) - ran)


def test_demo_runs_the_suite_against_the_bundled_receiver(
        runs: Runs) -> None:
    completed: subprocess.CompletedProcess[str] = runs["demo"]
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "Traceback" not in output
    reports = Path(completed.args[completed.args.index("--reports") + 1])
    report = json.loads((reports / "conformance.json").read_text(encoding="utf-8"))
    assert report["conformant"] is True
    assert sorted(t["provider"] for t in report["targets"]) == PROVIDERS
    assert report["providers"] == PROVIDERS
    for target in report["targets"]:
        summary = target["summary"]
        assert summary["fail_required"] == summary["fail_recommended"] == 0, target["name"]
        assert target["results"], target["name"]
        assert {r["outcome"] for r in target["results"]} == {"pass"}, target["name"]
    assert (reports / "conformance.html").is_file()
    assert (reports / "conformance.md").is_file()
    assert "conformant" in output


def test_reference_receiver_passes_with_get_deliveries(tmp_path: Path) -> None:
    """twilio-conversations lets a team configure GET: the parameters travel in the query
    string, signed as part of the URL, and the reference receiver passes every check so."""
    config = ReceiverConfig(db=tmp_path / "receiver.sqlite3",
                            secrets={"twilio-conversations": SECRET})
    run = run_suite(config, "twilio-conversations", tmp_path / "run",
                    events=("onMessageAdd", "onParticipantAdded"),
                    signing_url=f"{PUBLIC_URL}/twilio-conversations",
                    extra_args=("--method", "GET", "--fuzz-examples", "2"))
    assert run.returncode == 0, run.output[-4000:]
    assert run.results
    assert {r["outcome"] for r in run.results} == {"pass"}
    # the GET form has no body to break: that check is not generated
    assert "payload.malformed_body_handled" not in {r["check"] for r in run.results}
    assert "signature.repeated_keys_accepted" in {r["check"] for r in run.results}
