"""Helpers for the report tests: real runs of the suite against (broken) reference receivers.

Each run starts a receiver on loopback, runs ``python -m pytest`` (the hookproof plugin and its
bundled suite) against it in a subprocess and returns what the run left behind: exit code,
terminal output and the report files. Runs are cached per pytest session (keyed by the
``tmp_path_factory``), so several test modules share one run of each kind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.validation import ValidationResult
from hookproof.receiver.answers import Answer, ReferenceAnswerer
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig
from hookproof.receiver.server import BackgroundServer
from hookproof.signing import Verification, WireRequest

SECRET = "hp-SECRET-9f2c1d7e4b0a-do-not-leak"
"""A recognisable signing secret: it must never show up in anything a run writes."""
SECRET_ENV = "X_SECRET"
STEP_SUMMARY = "step-summary.md"
"""Where cached runs append their Markdown (``$GITHUB_STEP_SUMMARY``), in their directory."""
PROVIDER = "varda"
REPO = Path(__file__).resolve().parents[1]
FUZZ_EXAMPLES = "0"
"""Fuzzing off: these runs are about the reports, and generating payloads costs seconds."""


# -- broken receivers ------------------------------------------------------------------------


class AcceptAnything:
    """A verifier that accepts every request, signed or not (defect: no signature check)."""

    def __call__(self, provider: Provider, request: WireRequest, secret: str, *,
                 now: int) -> Verification:
        return Verification(True, "ok")


class ValidateNothing:
    """A validator that finds nothing wrong with any payload (defect: no contract check)."""

    def __call__(self, provider: Provider, event: Event, payload: Any) -> ValidationResult:
        return ValidationResult()


class EchoAnswerer:
    """An answerer that echoes the decoded payload back (the echo app below adds headers)."""

    def __call__(self, provider: Provider, event: Event, payload: Any) -> Answer:
        return Answer.json({"echo": payload})


class CrashOn:
    """The reference answers, except a 500 to one event (defect: a handler that crashes)."""

    def __init__(self, event: str) -> None:
        self.event = event
        self.reference = ReferenceAnswerer()

    def __call__(self, provider: Provider, event: Event, payload: Any) -> Answer:
        if event.name == self.event:
            return Answer.json({"error": "internal error"}, 500)
        return self.reference(provider, event, payload)


CRASHING_EVENT = "contact.updated"


def reference_config() -> ReceiverConfig:
    # one receiver for many runs in quick succession: see ReceiverConfig.replay_protection
    return ReceiverConfig(secrets={PROVIDER: SECRET}, providers=(PROVIDER,),
                          replay_protection=False)


def accept_all_config() -> ReceiverConfig:
    return dataclasses.replace(reference_config(), verifier=AcceptAnything())


def two_defects_config() -> ReceiverConfig:
    return dataclasses.replace(accept_all_config(), validator=ValidateNothing())


def accept_all_crash_config() -> ReceiverConfig:
    return dataclasses.replace(accept_all_config(), answerer=CrashOn(CRASHING_EVENT))


def echo_app() -> Starlette:
    """Accepts anything and answers with the whole request echoed back: method, URL, every
    header (the signature too) and the raw body, so that a report that shows the answer also
    shows what was sent. Effects are counted as always 1 (the effects probe is not the point)."""

    async def echo(request: Request) -> Response:
        body = await request.body()
        document = {
            "method": request.method,
            "url": str(request.url),
            "headers": dict(request.headers),
            "body": body.decode("utf-8", "replace"),
        }
        return Response(json.dumps(document), status_code=200, media_type="application/json")

    async def effects(request: Request) -> Response:
        return Response('{"count": 1}', media_type="application/json")

    return Starlette(routes=[
        Route(f"/{PROVIDER}/effects", effects, methods=["GET"]),
        Route(f"/{PROVIDER}", echo, methods=["GET", "POST"]),
    ])


APPS = {
    "reference": lambda: create_app(reference_config()),
    "accept_all": lambda: create_app(accept_all_config()),
    "two_defects": lambda: create_app(two_defects_config()),
    "accept_all_crash": lambda: create_app(accept_all_crash_config()),
    "echo": echo_app,
}


# -- runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    reports: Path
    cwd: Path

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(
            (self.reports / "conformance.json").read_text(encoding="utf-8"))
        return loaded

    def files(self) -> list[Path]:
        """Every file the run wrote (reports, JUnit, baseline, step summary)."""
        return sorted(p for p in self.cwd.rglob("*") if p.is_file())


def run_suite(workdir: Path, app: Starlette, *extra: str, env: dict[str, str] | None = None,
              provider: str = PROVIDER) -> Run:
    """Run the bundled suite against ``app`` (one provider) with reports in ``workdir/reports``."""
    workdir.mkdir(parents=True, exist_ok=True)
    reports = workdir / "reports"
    environment = dict(os.environ)
    environment.pop("GITHUB_STEP_SUMMARY", None)
    environment[SECRET_ENV] = SECRET
    environment["HOOKPROOF_FUZZ_EXAMPLES"] = FUZZ_EXAMPLES
    environment.update(env or {})
    with BackgroundServer(app) as server:
        url = f"{server.url}/{provider}"
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                   "--target-url", url, "--provider", provider,
                   "--effects-url", f"{url}/effects", "--secret-env", SECRET_ENV,
                   "--hookproof-reports", str(reports), *extra]
        completed = subprocess.run(command, cwd=workdir, env=environment, capture_output=True,
                                   text=True, timeout=120, check=False)
    return Run(completed.returncode, completed.stdout, completed.stderr, reports, workdir)


_RUNS: dict[tuple[int, str, tuple[str, ...]], Run] = {}


def cached_run(factory: pytest.TempPathFactory, kind: str, *extra: str) -> Run:
    """One run of ``kind`` (a key of :data:`APPS`) per session and set of extra arguments."""
    key = (id(factory), kind, extra)
    if key not in _RUNS:
        workdir = factory.mktemp(f"run-{kind}")
        # as on GitHub Actions: the Markdown report is appended to the step summary
        summary = {"GITHUB_STEP_SUMMARY": str(workdir / STEP_SUMMARY)}
        _RUNS[key] = run_suite(workdir, APPS[kind](), *extra, env=summary)
    return _RUNS[key]


def demo_run(factory: pytest.TempPathFactory) -> Run:
    """``hookproof demo`` (all five providers) with its throwaway secret pinned to
    :data:`SECRET`, so that tests can look for it in everything the demo wrote."""
    key = (id(factory), "demo", ())
    if key not in _RUNS:
        _RUNS[key] = _demo(factory)
    return _RUNS[key]


def _demo(factory: pytest.TempPathFactory) -> Run:
    workdir = factory.mktemp("demo")
    code = (
        "import secrets, sys\n"
        f"secrets.token_urlsafe = lambda nbytes=None: {SECRET!r}\n"
        "from hookproof.cli import main\n"
        "sys.exit(main(['demo', '--reports', 'reports']))\n"
    )
    environment = dict(os.environ, HOOKPROOF_FUZZ_EXAMPLES=FUZZ_EXAMPLES)
    environment.pop("GITHUB_STEP_SUMMARY", None)
    completed = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=environment,
                               capture_output=True, text=True, timeout=300, check=False)
    return Run(completed.returncode, completed.stdout, completed.stderr, workdir / "reports",
               workdir)


def results_set(report: dict[str, Any]) -> set[tuple[str, str, str | None, str]]:
    """(target, check, event, outcome) of every result of a report."""
    return {(t["name"], r["check"], r["event"], r["outcome"])
            for t in report["targets"] for r in t["results"]}


def validate(report: dict[str, Any]) -> None:
    """Raise if ``report`` does not validate against the shipped report schema."""
    import jsonschema

    from hookproof.reports.document import schema

    document = schema()
    jsonschema.Draft202012Validator.check_schema(document)
    errors = sorted(jsonschema.Draft202012Validator(
        document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).iter_errors(report), key=lambda e: list(e.absolute_path))
    if errors:
        raise AssertionError("report does not match report.schema.json:\n" + "\n".join(
            f"  at {e.json_path}: {e.message}" for e in errors[:10]))
