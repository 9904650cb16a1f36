"""Deliberately broken receivers: the reference receiver with exactly ONE part swapped or wrapped.

Each :class:`Broken` names its defect, the provider and events to run the suite on, and the exact
set of checks that must fail (``fails``: check id -> the events it fails for, or :data:`ALL` for
every event of the run where the check applies, or :data:`PROVIDER` for a per-provider check).
``tests/test_broken_receivers.py`` runs the conformance suite against each one and asserts that
exactly these checks fail: the intended ones are caught, and no unrelated check misfires.

Parts (fields of :class:`~hookproof.receiver.config.ReceiverConfig`):

* **verifier** - signature defects, and defects of code that runs before the pipeline's own
  decoding (reading the body to pick a secret, dispatching on the event type);
* **validator** - what the receiver does with a decoded payload before accepting it;
* **answerer** - the handler: what it reads from the payload and what it answers;
* **store** - deduplication and effects.

:func:`run_suite` (also used by ``test_reference_conformance.py``) serves a receiver on loopback
and runs the real suite against it in a subprocess, exactly as a user would.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.validation import ValidationResult
from hookproof.errors import InputError
from hookproof.receiver.answers import Answer, ReferenceAnswerer
from hookproof.receiver.app import create_app
from hookproof.receiver.checks import ContractValidator, SignatureVerifier
from hookproof.receiver.config import ReceiverConfig
from hookproof.receiver.store import SeenDelivery, SqliteStore
from hookproof.signing import (
    Verification,
    WireRequest,
    header,
    parse_form,
    scheme_for,
    twilio_signing_string,
)
from hookproof.transport.encoding import decode_body
from receivers import run_in_thread

SECRET = "hookproof-test-secret-1b7c"
SECRET_ENV = "HOOKPROOF_TEST_SECRET"
PUBLIC_URL = "https://hooks.example.com"
"""The public base URL of receivers that sit "behind a proxy" (``--signing-url``)."""

ALL = "all events"
PROVIDER = "the provider"


# -- running the suite -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteRun:
    """One run of the conformance suite against a receiver."""

    returncode: int
    output: str
    report: dict[str, Any]
    workdir: Path

    @property
    def results(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self.report["targets"][0]["results"]
        return results

    def outcomes(self, outcome: str) -> set[tuple[str, str | None]]:
        """(check, event) of every result with this outcome."""
        return {(r["check"], r["event"]) for r in self.results if r["outcome"] == outcome}

    @property
    def failed(self) -> set[tuple[str, str | None]]:
        return self.outcomes("fail")


_APP_LOCK = threading.Lock()


class CrashesCloseTheConnection:
    """ASGI wrapper: a 5xx answer carries ``Connection: close``, and an unhandled exception of
    the app (already answered 500 by Starlette) is not re-raised to uvicorn.

    Without it, uvicorn closes the keep-alive connection only *after* logging the traceback of
    a crash, and the suite's client may already have sent its next request on that
    connection: that request then fails with "connection reset" and an unrelated check fails
    at random. With ``Connection: close`` the client never reuses the connection.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_closing(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 500:
                    headers = [*message.get("headers", ()), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_closing)
        except Exception:
            if not started:
                await send_closing({"type": "http.response.start", "status": 500,
                                    "headers": [(b"content-type", b"text/plain")]})
                await send_closing({"type": "http.response.body",
                                    "body": b"Internal Server Error"})


def run_suite(
    config: ReceiverConfig,
    provider: str,
    workdir: Path,
    *,
    events: Sequence[str] = (),
    signing_url: str | None = None,
    extra_args: Sequence[str] = (),
    fast: bool = True,
    timeout: float = 120,
) -> SuiteRun:
    """Serve ``create_app(config)`` on loopback and run the suite against its ``provider``."""
    with _APP_LOCK:  # create_app warms the shared contract engine
        app = create_app(config)
    base, stop = run_in_thread(CrashesCloseTheConnection(app))
    try:
        return run_suite_at(f"{base}/{provider}", provider, workdir,
                            effects_url=f"{base}/{provider}/effects", events=events,
                            signing_url=signing_url, extra_args=extra_args, fast=fast,
                            timeout=timeout)
    finally:
        stop()


def run_suite_at(
    url: str,
    provider: str,
    workdir: Path,
    *,
    effects_url: str | None = None,
    events: Sequence[str] = (),
    signing_url: str | None = None,
    extra_args: Sequence[str] = (),
    fast: bool = True,
    timeout: float = 120,
    app: str | None = None,
    env_extra: Mapping[str, str] | None = None,
) -> SuiteRun:
    """Run the suite against a receiver already listening at ``url``, exactly as a user would.

    ``app``: the receiver is instead a ``module:attr`` app of ``tests/`` run in-process
    (``--target-app``); ``url`` is then what it is reached at (a path will do).

    ``fast`` loads only the hookproof plugin (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 -p
    hookproof.plugin``): the same suite and plugin, without the ~2 s of importing unrelated
    pytest plugins (hypothesis, schemathesis) into every run.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **{SECRET_ENV: SECRET})
    plugin_args: list[str] = []
    if fast:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        plugin_args = ["-p", "hookproof.plugin"]
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *plugin_args,
        "--target-url", url, "--provider", provider, "--secret-env", SECRET_ENV,
        "--hookproof-reports", str(workdir),
    ]
    if app:
        command += ["--target-app", app, "--target-app-dir", str(Path(__file__).parent)]
    env.update(env_extra or {})
    if effects_url:
        command += ["--effects-url", effects_url]
    if events:
        command += ["--events", ",".join(events)]
    if signing_url:
        command += ["--signing-url", signing_url]
    command += list(extra_args)
    completed = subprocess.run(command, cwd=workdir, env=env, capture_output=True,
                               text=True, timeout=timeout, check=False)
    output = completed.stdout + completed.stderr
    report_file = workdir / "conformance.json"
    if not report_file.is_file():
        raise AssertionError(f"the suite wrote no report (exit {completed.returncode}):\n"
                             f"{output[-4000:]}")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    return SuiteRun(completed.returncode, output, report, workdir)


# -- the broken receivers --------------------------------------------------------------------------


Build = Callable[[ReceiverConfig], ReceiverConfig]


@dataclass(frozen=True)
class Broken:
    """A reference receiver with one defect, and what the suite must catch."""

    name: str
    defect: str
    provider: str
    events: tuple[str, ...]
    fails: Mapping[str, tuple[str, ...] | str]
    """check id -> events it must fail for (or ALL / PROVIDER). Every other check must pass."""
    build: Build
    """Swaps or wraps exactly one part of a working config."""
    behind_proxy: bool = False
    """Served with ``public_url`` PUBLIC_URL and tested with ``--signing-url`` (so that the
    signed URL has no explicit port and its default-port variant differs)."""
    extra_args: tuple[str, ...] = ()
    fuzz_examples: int = 0
    """Generated payloads per event for the fuzz checks: 0 (fuzzing off) except for the
    receivers whose defect only generated payloads show."""

    @property
    def suite_args(self) -> tuple[str, ...]:
        return (*self.extra_args, "--fuzz-examples", str(self.fuzz_examples))

    def config(self, db: Path) -> ReceiverConfig:
        base = ReceiverConfig(db=db, secrets={self.provider: SECRET},
                              providers=(self.provider,),
                              public_url=PUBLIC_URL if self.behind_proxy else None)
        broken = self.build(base)
        changed = [f.name for f in dataclasses.fields(base)
                   if getattr(base, f.name) is not getattr(broken, f.name)]
        assert len(changed) == 1 and changed[0] in ("verifier", "validator", "answerer",
                                                    "store", "clock"), (self.name, changed)
        return broken

    @property
    def signing_url(self) -> str | None:
        return f"{PUBLIC_URL}/{self.provider}" if self.behind_proxy else None

    def intended(self, run: SuiteRun) -> set[tuple[str, str | None]]:
        """The exact (check, event) pairs that must fail in ``run``."""
        pairs: set[tuple[str, str | None]] = set()
        for check, events in self.fails.items():
            if events == PROVIDER:
                pairs.add((check, None))
            elif events == ALL:
                pairs |= {(r["check"], r["event"]) for r in run.results if r["check"] == check}
            else:
                pairs |= {(check, event) for event in events}
        return pairs


def _verifier(function: Callable[..., Verification]) -> Build:
    return lambda config: dataclasses.replace(config, verifier=function)


def _validator(function: Callable[..., ValidationResult]) -> Build:
    return lambda config: dataclasses.replace(config, validator=function)


def _answerer(function: Callable[..., Answer]) -> Build:
    return lambda config: dataclasses.replace(config, answerer=function)


REFERENCE_VERIFIER = SignatureVerifier()
REFERENCE_VALIDATOR = ContractValidator()
REFERENCE_ANSWERER = ReferenceAnswerer()


def _scheme_header(provider: Provider) -> str:
    return scheme_for(provider.signature, encoding=provider.transport.encoding).header


def _twilio_form_verifier(tail: Callable[[bytes], str]) -> Callable[..., Verification]:
    """A hand-rolled X-Twilio-Signature check of a form POST: Base64 HMAC-SHA1 over the URL
    exactly as received + ``tail(body)``. Correct: name+value of each parameter, names sorted
    by byte order (:func:`_twilio_tail`)."""

    def verify(provider: Provider, request: WireRequest, secret: str, *, now: int) -> Verification:
        received = header(request, "X-Twilio-Signature")
        if received is None:
            return Verification(False, "missing")
        message = (request.url + tail(request.body)).encode("utf-8")
        mac = hmac.new(secret.encode("utf-8"), message, hashlib.sha1).digest()
        expected = base64.b64encode(mac).decode("ascii")
        if hmac.compare_digest(received.encode("utf-8"), expected.encode("ascii")):
            return Verification(True, "ok")
        return Verification(False, "mismatch")

    return verify


def _twilio_tail(pairs: Iterable[tuple[str, str]]) -> str:
    return twilio_signing_string("", list(pairs))


# signature.missing_rejected
def accepts_unsigned(provider: Provider, request: WireRequest, secret: str, *,
                     now: int) -> Verification:
    """Verifies a signature when there is one, and waves through requests without one."""
    if header(request, _scheme_header(provider)) is None:
        return Verification(True, "ok")
    return REFERENCE_VERIFIER(provider, request, secret, now=now)


# signature.wrong_secret_rejected, tampered_body_rejected, tampered_url_rejected
def mismatch_only_logged(provider: Provider, request: WireRequest, secret: str, *,
                         now: int) -> Verification:
    """Verification left in report-only mode: a signature mismatch is logged, not refused
    (a missing signature, a stale timestamp and a wrong bodySHA256 still are)."""
    verdict = REFERENCE_VERIFIER(provider, request, secret, now=now)
    return Verification(True, "ok") if verdict.reason == "mismatch" else verdict


class SignatureMemo:
    """Caches verified signatures by header value and skips the HMAC for one seen before.

    Twilio's signature has no timestamp, so the same payload to the same URL is always signed
    the same: a request with a known signature but another body passes unverified.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, provider: Provider, request: WireRequest, secret: str, *,
                 now: int) -> Verification:
        received = header(request, _scheme_header(provider))
        with self.lock:
            if received is not None and received in self.seen:
                return Verification(True, "ok")
        verdict = REFERENCE_VERIFIER(provider, request, secret, now=now)
        if verdict.ok and received is not None:
            with self.lock:
                self.seen.add(received)
        return verdict


# signature.body_hash_mismatch_rejected
def ignores_body_hash(provider: Provider, request: WireRequest, secret: str, *,
                      now: int) -> Verification:
    """Twilio JSON: checks the signature over the URL (which carries bodySHA256) but never
    compares bodySHA256 with the body it received."""
    verdict = REFERENCE_VERIFIER(provider, request, secret, now=now)
    return Verification(True, "ok") if verdict.reason == "body-hash" else verdict


# signature.port_variant_accepted
exact_url_only = _twilio_form_verifier(lambda body: _twilio_tail(parse_form(body)))
"""Verifies over the URL exactly as received: no variant with the default port (:443)."""


# signature.repeated_keys_accepted
def _collapsed(body: bytes) -> str:
    return _twilio_tail(dict(parse_form(body)).items())  # dict(): the last repeated value wins


collapses_repeated_keys = _twilio_form_verifier(_collapsed)
"""Parses the form into a dict (the last MessagingBinding.Address wins) before verifying."""


# signature.raw_body_preserved (form)
def _trimmed(body: bytes) -> str:
    return _twilio_tail((name, value.strip()) for name, value in parse_form(body))


trims_form_values = _twilio_form_verifier(_trimmed)
"""Verifies over the form values after ``.strip()`` (as a framework's "clean" input)."""


# signature.valid_accepted
def _case_insensitive_tail(body: bytes) -> str:
    pairs = parse_form(body)
    return "".join(name + value for name, value in sorted(pairs, key=lambda p: p[0].lower()))


case_insensitive_sort = _twilio_form_verifier(_case_insensitive_tail)
"""Sorts parameter names case-insensitively; Twilio sorts by byte order. Only events with a
lower-case parameter name (onUserUpdated: isOnline, isNotifiable) are signed differently."""


def _no_params(body: bytes) -> str:
    return ""


url_only_signature = _twilio_form_verifier(_no_params)
"""Verifies over the URL alone, ignoring the form parameters (as for a JSON or GET webhook)."""


# signature.raw_body_preserved (JSON), payload.documented_example_accepted
def reserializes_json(provider: Provider, request: WireRequest, secret: str, *,
                      now: int) -> Verification:
    """Parses the JSON and verifies over ``json.dumps`` of it (compact), not the raw bytes."""
    try:
        document = json.loads(request.body)
    except ValueError:
        return Verification(False, "malformed")
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return REFERENCE_VERIFIER(provider, request.with_body(body), secret, now=now)


# signature.stale_timestamp_rejected, future_timestamp_rejected
def no_replay_window(provider: Provider, request: WireRequest, secret: str, *,
                     now: int) -> Verification:
    """Verifies the signature, never the timestamp's age."""
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    return scheme.verify(request, secret, now=now)


# signature.future_timestamp_rejected
def past_only_window(provider: Provider, request: WireRequest, secret: str, *,
                     now: int) -> Verification:
    """Refuses old timestamps but accepts any timestamp from the future."""
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    window = provider.replay_window.seconds if provider.replay_window else None
    return scheme.verify(request, secret, now=now, tolerance=window)


# payload.malformed_body_handled
def secret_by_tenant(provider: Provider, request: WireRequest, secret: str, *,
                     now: int) -> Verification:
    """Multi-tenant: parses the body to find the account whose secret to use, before the
    pipeline's own (defensive) parsing; a body that does not parse raises -> 500."""
    document = json.loads(request.body)
    data = document.get("data") if isinstance(document, dict) else None
    _tenant = data.get("accountId") if isinstance(data, dict) else None
    return REFERENCE_VERIFIER(provider, request, secret, now=now)


# payload.unknown_event_handled
def dispatch_table_first(provider: Provider, request: WireRequest, secret: str, *,
                         now: int) -> Verification:
    """Looks the event type up in its table of handlers before anything else; the lookup
    raises KeyError for an event type it was not built for -> 500."""
    handlers = {event.name: event for event in provider.events}
    try:
        payload = decode_body(request.body, provider.transport.encoding)
    except InputError:
        payload = None
    name = provider.event_name_of(payload) if isinstance(payload, dict) else None
    if name is not None:
        _handler = handlers[name]
    return REFERENCE_VERIFIER(provider, request, secret, now=now)


# payload.unknown_fields_tolerated
def refuses_unknown_fields(provider: Provider, event: Event, payload: Any) -> ValidationResult:
    """A strict model (``extra = "forbid"``) whose error is not handled: unknown field -> 500."""
    result = REFERENCE_VALIDATOR(provider, event, payload)
    unknown = [f for f in result.drift if f.keyword != "enum"]
    if unknown:
        raise ValueError(f"extra fields not permitted: {unknown[0].path}")
    return result


def refuses_unknown_enum_values(provider: Provider, event: Event,
                                payload: Any) -> ValidationResult:
    """A closed ``Enum`` in the model: a value the platform added later -> ValueError -> 500."""
    result = REFERENCE_VALIDATOR(provider, event, payload)
    unknown = [f for f in result.drift if f.keyword == "enum"]
    if unknown:
        raise ValueError(f"{unknown[0].path}: not a valid enumeration member")
    return result


# payload.missing_required_handled
def indexes_before_validating(provider: Provider, event: Event,
                              payload: Any) -> ValidationResult:
    """Reads the contact id (to look the contact up) before validating: KeyError -> 500 when
    the platform leaves it out."""
    _contact_id = payload["data"]["contact"]["id"]
    return REFERENCE_VALIDATOR(provider, event, payload)


# payload.minimal_accepted
def reads_optional_body(provider: Provider, event: Event, payload: Any) -> Answer:
    """The handler indexes the optional ``Body`` parameter: KeyError -> 500 when it is absent
    (a media-only message)."""
    _text = payload["Body"]
    return REFERENCE_ANSWERER(provider, event, payload)


# payload.enum_values_accepted
STATUS_HANDLERS = {"open": "reopen", "resolved": "resolve", "closed": "archive"}
DOCUMENTED_STATUSES = ("open", "pending", "resolved", "closed")


def status_table_incomplete(provider: Provider, event: Event, payload: Any) -> Answer:
    """Dispatches on data.status through a table that lacks the documented ``pending``
    (undocumented values are skipped on purpose, so drift is fine): KeyError -> 500."""
    status = payload.get("data", {}).get("status")
    if status in DOCUMENTED_STATUSES:
        _action = STATUS_HANDLERS[status]
    return REFERENCE_ANSWERER(provider, event, payload)


# payload.nullable_fields_accepted (and the documented PARTICIPANT_ADDED example, with nulls)
def created_day_not_null_safe(provider: Provider, event: Event, payload: Any) -> Answer:
    """Files the record under ``data.createdAt[:10]``: TypeError -> 500 when it is null."""
    data = payload.get("data", {})
    if "createdAt" in data:
        _day = data["createdAt"][:10]
    return REFERENCE_ANSWERER(provider, event, payload)


# response.prehook_shape
def camel_case_friendly_name(provider: Provider, event: Event, payload: Any) -> Answer:
    """Answers onConversationAdd with ``friendlyName`` (Twilio ignores it)."""
    answer = REFERENCE_ANSWERER(provider, event, payload)
    if event.name != "onConversationAdd":
        return answer
    document = answer.document()
    document["friendlyName"] = document.pop("friendly_name")
    return Answer.json(document, answer.status)


def attributes_as_object(provider: Provider, event: Event, payload: Any) -> Answer:
    """Answers onConversationAdd with ``attributes`` as an object, not a JSON string."""
    answer = REFERENCE_ANSWERER(provider, event, payload)
    if event.name != "onConversationAdd":
        return answer
    document = answer.document()
    document["attributes"] = json.loads(document["attributes"])
    return Answer.json(document, answer.status)


def setup_without_context(provider: Provider, event: Event, payload: Any) -> Answer:
    """Answers conversation.setup with the context's members at the top level."""
    answer = REFERENCE_ANSWERER(provider, event, payload)
    if event.name != "conversation.setup":
        return answer
    return Answer.json(answer.document()["context"], answer.status)


def created_without_body(provider: Provider, event: Event, payload: Any) -> Answer:
    """Answers every pre-event ``201 Created`` with no body: Twilio documents 200 (a
    recommended finding, the hook still works)."""
    answer = REFERENCE_ANSWERER(provider, event, payload)
    return Answer(201, b"") if event.kind == "pre" else answer


# response.within_budget
SLOW_SECONDS = 0.25
BUDGET_SECONDS = 0.1


def slow_handler(provider: Provider, event: Event, payload: Any) -> Answer:
    """Does its work (here: sleeps 0.25 s) before answering."""
    time.sleep(SLOW_SECONDS)
    return REFERENCE_ANSWERER(provider, event, payload)


# fuzz.generated_accepted
def strict_timestamp_parsing(provider: Provider, event: Event, payload: Any) -> Answer:
    """Parses ``timestamp`` with ``strptime("%Y-%m-%dT%H:%M:%SZ")``: every example has that
    shape, but a valid RFC 3339 time with a fraction or an offset raises ValueError -> 500."""
    datetime.strptime(payload["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    return REFERENCE_ANSWERER(provider, event, payload)


# fuzz.invalid_handled
def error_answer_crashes(provider: Provider, event: Event, payload: Any) -> ValidationResult:
    """Refuses a missing field with 400, but building the 400 for any other contract error
    (a wrong type, a pattern, a format) raises -> 500."""
    result = REFERENCE_VALIDATOR(provider, event, payload)
    for finding in result.errors:
        if finding.keyword != "required":
            raise TypeError(f"cannot describe {finding.keyword} errors")
    return result


# idempotency.sequential_duplicate, concurrent_duplicates
class NoDedupeStore(SqliteStore):
    """Processes every delivery, duplicates included (no dedupe at all)."""

    def record(self, delivery: SeenDelivery, answer: Answer) -> Answer:
        with self.connect() as conn:
            self.apply_effect(conn, delivery)
        return answer


class DuplicateAnswerStore(SqliteStore):
    """Dedupes correctly (one effect), but answers a duplicate ``{"status": "duplicate"}``
    instead of the answer stored with the first delivery: a pre-hook's answer changes on a
    retry."""

    def record(self, delivery: SeenDelivery, answer: Answer) -> Answer:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            inserted = self.claim(conn, delivery, answer)
            if inserted:
                self.apply_effect(conn, delivery)
            conn.execute("COMMIT")
        return answer if inserted else Answer.json({"status": "duplicate"})


class CheckThenInsertStore:
    """SELECT, then (a few ms of work later) INSERT, with no UNIQUE constraint: duplicates one
    after the other are caught, simultaneous ones all find nothing and are all processed."""

    WORK_SECONDS = 0.2

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.connect()
        try:
            conn.executescript(
                "CREATE TABLE IF NOT EXISTS seen (provider TEXT, dedupe_key TEXT, answer BLOB,"
                " status INTEGER);"
                "CREATE TABLE IF NOT EXISTS effects (provider TEXT, dedupe_key TEXT);")
        finally:
            conn.close()

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None,
                               check_same_thread=False)

    def record(self, delivery: SeenDelivery, answer: Answer) -> Answer:
        conn = self.connect()
        try:
            row = conn.execute("SELECT status, answer FROM seen WHERE provider = ? AND"
                               " dedupe_key = ?", (delivery.provider, delivery.key)).fetchone()
            if row is not None:
                return Answer(int(row[0]), bytes(row[1]))
            time.sleep(self.WORK_SECONDS)
            conn.execute("INSERT INTO seen VALUES (?, ?, ?, ?)",
                         (delivery.provider, delivery.key, answer.body, answer.status))
            conn.execute("INSERT INTO effects VALUES (?, ?)", (delivery.provider, delivery.key))
            return answer
        finally:
            conn.close()

    def effects(self, provider: str, key: str) -> int:
        conn = self.connect()
        try:
            (count,) = conn.execute("SELECT COUNT(*) FROM effects WHERE provider = ? AND"
                                    " dedupe_key = ?", (provider, key)).fetchone()
            return int(count)
        finally:
            conn.close()


class SignatureDedupeStore(SqliteStore):
    """Dedupes on the signature header instead of the platform's delivery id: a simultaneous
    copy (same bytes, same signature) is caught, a real retry (signed anew, later) is not."""

    def record(self, delivery: SeenDelivery, answer: Answer) -> Answer:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            if self.claim(conn, delivery, answer, key=delivery.signature):
                self.apply_effect(conn, delivery)
            conn.execute("COMMIT")
        return answer


# signature.valid_accepted (pre-events)
def staging_secret(provider: Provider, request: WireRequest, secret: str, *,
                   now: int) -> Verification:
    """Verifies with another environment's secret: every genuine delivery is refused exactly
    as a forged one is (in production: every message blocked)."""
    return REFERENCE_VERIFIER(provider, request, secret + "-staging", now=now)


# signature.malformed_header_rejected
def naive_header_parsing(provider: Provider, request: WireRequest, secret: str, *,
                         now: int) -> Verification:
    """Splits ``X-Varda-Signature`` with ``dict(p.split("=") ...)`` and ``int(t)`` before
    anything else: ValueError or KeyError on a garbage header -> 500."""
    received = header(request, _scheme_header(provider))
    if received is not None:
        parts = dict(part.split("=", 1) for part in received.split(","))
        int(parts["t"])
    return REFERENCE_VERIFIER(provider, request, secret, now=now)


# payload.unknown_event_handled (Frontline callbacks)
def location_table_first(provider: Provider, request: WireRequest, secret: str, *,
                         now: int) -> Verification:
    """Dispatches a callback on its ``Location`` through a table of handlers before anything
    else: KeyError on a Location Twilio adds later -> 500 (the conversations hook is fine)."""
    handlers = {event.name: event for event in provider.events if event.kind == "callback"}
    try:
        payload = decode_body(request.body, provider.transport.encoding)
    except InputError:
        payload = {}
    location = payload.get("Location") if isinstance(payload, dict) else None
    if isinstance(location, str):
        _handler = handlers[location]
    return REFERENCE_VERIFIER(provider, request, secret, now=now)


# payload.enum_values_accepted (real traffic's lower-case binding type)
BINDING_CHANNELS = {"SMS": "sms", "CHAT": "chat", "WHATSAPP": "whatsapp"}


def upper_case_binding_only(provider: Provider, event: Event, payload: Any) -> Answer:
    """Looks ``MessagingBinding.Type`` up in a table of the documented upper-case values;
    a value it does not recognise in any casing is skipped, but Twilio's real lower-case
    ``sms`` raises KeyError -> 500."""
    value = payload.get("MessagingBinding.Type")
    if isinstance(value, str) and value.upper() in BINDING_CHANNELS:
        _channel = BINDING_CHANNELS[value]
    return REFERENCE_ANSWERER(provider, event, payload)


def _store(factory: Callable[[Path], Any]) -> Build:
    return lambda config: dataclasses.replace(config, store=factory(config.db))


# Shorthands for the checks' ids.
VALID = "signature.valid_accepted"
MISSING = "signature.missing_rejected"
WRONG_SECRET = "signature.wrong_secret_rejected"
TAMPERED_BODY = "signature.tampered_body_rejected"
TAMPERED_URL = "signature.tampered_url_rejected"
BODY_HASH = "signature.body_hash_mismatch_rejected"
PORT = "signature.port_variant_accepted"
REPEATED = "signature.repeated_keys_accepted"
STALE = "signature.stale_timestamp_rejected"
FUTURE = "signature.future_timestamp_rejected"
RAW_BODY = "signature.raw_body_preserved"
DOCUMENTED = "payload.documented_example_accepted"
MINIMAL = "payload.minimal_accepted"
UNKNOWN_FIELDS = "payload.unknown_fields_tolerated"
ENUMS = "payload.enum_values_accepted"
NULLABLE = "payload.nullable_fields_accepted"
MISSING_REQUIRED = "payload.missing_required_handled"
MALFORMED = "payload.malformed_body_handled"
UNKNOWN_EVENT = "payload.unknown_event_handled"
PREHOOK = "response.prehook_shape"
BUDGET = "response.within_budget"
SEQUENTIAL = "idempotency.sequential_duplicate"
CONCURRENT = "idempotency.concurrent_duplicates"
GENERATED = "fuzz.generated_accepted"
INVALID = "fuzz.invalid_handled"
MALFORMED_HEADER = "signature.malformed_header_rejected"


BROKEN: tuple[Broken, ...] = (
    Broken("accepts_unsigned", "accepts requests without a signature header", "varda",
           ("message.created",), {MISSING: ALL}, _verifier(accepts_unsigned)),
    Broken("mismatch_only_logged", "a wrong signature is logged, not refused", "operator",
           ("conversation.setup", "conversation.ended"),
           {WRONG_SECRET: ALL, TAMPERED_BODY: ALL, TAMPERED_URL: ALL},
           _verifier(mismatch_only_logged)),
    Broken("signature_memo", "skips verification for a signature seen before (body unchecked)",
           "twilio-conversations", ("onMessageAdded",), {TAMPERED_BODY: ALL},
           lambda config: dataclasses.replace(config, verifier=SignatureMemo())),
    # Twilio signs the form parameters, so a check over the URL alone refuses every genuine
    # POST: every check that sends a valid delivery of a post-event catches it.
    Broken("url_only_signature", "verifies over the URL only, ignoring the form parameters",
           "twilio-conversations", ("onMessageAdded",),
           {VALID: ALL, RAW_BODY: ALL, MINIMAL: ALL, UNKNOWN_FIELDS: ALL,
            SEQUENTIAL: ALL, CONCURRENT: ALL, UNKNOWN_EVENT: PROVIDER},
           _verifier(url_only_signature)),
    Broken("ignores_body_hash", "never compares bodySHA256 with the body",
           "twilio-orchestrator", ("CONVERSATION_UPDATED",), {BODY_HASH: ALL},
           _verifier(ignores_body_hash)),
    Broken("exact_url_only", "verifies over the URL as received only (no :443 variant)",
           "twilio-conversations", ("onMessageAdded",), {PORT: ALL},
           _verifier(exact_url_only), behind_proxy=True),
    Broken("collapses_repeated_keys", "keeps the last MessagingBinding.Address before verifying",
           "twilio-conversations", ("onParticipantAdded",), {REPEATED: ALL},
           _verifier(collapses_repeated_keys)),
    Broken("trims_form_values", "strips form values before verifying", "twilio-conversations",
           ("onMessageAdded",), {RAW_BODY: ALL}, _verifier(trims_form_values)),
    # Only onUserUpdated has lower-case parameter names (isOnline, isNotifiable); its minimal
    # example has none, so minimal_accepted passes there.
    Broken("case_insensitive_sort", "sorts parameter names case-insensitively",
           "twilio-conversations", ("onMessageAdded", "onUserUpdated"),
           {check: ("onUserUpdated",)
            for check in (VALID, RAW_BODY, UNKNOWN_FIELDS, SEQUENTIAL, CONCURRENT)},
           _verifier(case_insensitive_sort)),
    Broken("reserializes_json", "verifies over re-serialized JSON, not the raw body", "varda",
           ("message.created", "conversation.resolved"),
           {RAW_BODY: ALL, DOCUMENTED: ("message.created",)}, _verifier(reserializes_json)),
    Broken("no_replay_window", "never checks the timestamp's age", "varda",
           ("message.created",), {STALE: ALL, FUTURE: ALL}, _verifier(no_replay_window)),
    Broken("past_only_window", "accepts timestamps from the future", "operator",
           ("conversation.ended",), {FUTURE: ALL}, _verifier(past_only_window)),
    Broken("secret_by_tenant", "parses the body before the pipeline does: 500 on bad JSON",
           "twilio-orchestrator", ("CONVERSATION_UPDATED",), {MALFORMED: ALL},
           _verifier(secret_by_tenant)),
    Broken("dispatch_table_first", "KeyError on an event type it does not know: 500", "varda",
           ("message.created",), {UNKNOWN_EVENT: PROVIDER}, _verifier(dispatch_table_first)),
    Broken("refuses_unknown_fields", "500 on a field the contract does not list", "varda",
           ("message.created",), {UNKNOWN_FIELDS: ALL}, _validator(refuses_unknown_fields)),
    Broken("refuses_unknown_enum_values", "500 on an enum value the contract does not list",
           "twilio-orchestrator", ("CONVERSATION_UPDATED",), {UNKNOWN_FIELDS: ALL},
           _validator(refuses_unknown_enum_values)),
    Broken("indexes_before_validating", "KeyError on a missing required field: 500", "varda",
           ("message.created",), {MISSING_REQUIRED: ALL}, _validator(indexes_before_validating)),
    Broken("reads_optional_body", "KeyError on the optional Body parameter: 500",
           "twilio-conversations", ("onMessageAdded",), {MINIMAL: ALL},
           _answerer(reads_optional_body)),
    Broken("status_table_incomplete", "500 on the documented status 'pending'", "varda",
           ("conversation.resolved", "message.created"), {ENUMS: ("conversation.resolved",)},
           _answerer(status_table_incomplete)),
    # PARTICIPANT_ADDED's documented example (the canonical payload every check starts from)
    # has createdAt null: there every check sending a valid delivery catches it.
    Broken("created_at_null_crash", "500 when data.createdAt is null", "twilio-orchestrator",
           ("PARTICIPANT_UPDATED", "PARTICIPANT_ADDED"),
           {NULLABLE: ALL, **{check: ("PARTICIPANT_ADDED",) for check in (
               DOCUMENTED, VALID, RAW_BODY, UNKNOWN_FIELDS, ENUMS, SEQUENTIAL,
               CONCURRENT)}},
           _answerer(created_day_not_null_safe)),
    Broken("camel_case_friendly_name", "answers friendlyName instead of friendly_name",
           "twilio-frontline", ("onConversationAdd",), {PREHOOK: ALL},
           _answerer(camel_case_friendly_name)),
    Broken("attributes_as_object", "answers attributes as an object, not a JSON string",
           "twilio-frontline", ("onConversationAdd",), {PREHOOK: ALL},
           _answerer(attributes_as_object)),
    Broken("created_without_body", "answers pre-events 201 with no body (recommended)",
           "twilio-conversations", ("onMessageAdd", "onMessageAdded"),
           {PREHOOK: ("onMessageAdd",)}, _answerer(created_without_body)),
    Broken("setup_without_context", "answers conversation.setup without context", "operator",
           ("conversation.setup",), {PREHOOK: ALL}, _answerer(setup_without_context)),
    Broken("slow_handler", f"answers after {SLOW_SECONDS} s (budget {BUDGET_SECONDS} s)",
           "varda", ("contact.created",), {BUDGET: ALL}, _answerer(slow_handler),
           extra_args=("--hookproof-budget", str(BUDGET_SECONDS))),
    Broken("no_dedupe", "processes every duplicate", "varda", ("message.created",),
           {SEQUENTIAL: ALL, CONCURRENT: ALL}, _store(NoDedupeStore)),
    Broken("duplicate_answer_differs", "answers a duplicate with another body", "operator",
           ("conversation.setup", "conversation.ended"),
           {SEQUENTIAL: ("conversation.setup",), CONCURRENT: ("conversation.setup",)},
           _store(DuplicateAnswerStore)),
    Broken("strict_timestamp_parsing", "500 on a valid timestamp with a fraction or offset",
           "varda", ("message.created",), {GENERATED: ALL}, _answerer(strict_timestamp_parsing),
           fuzz_examples=12),
    Broken("error_answer_crashes", "500 on a contract error other than a missing field",
           "varda", ("message.created",), {INVALID: ALL}, _validator(error_answer_crashes),
           fuzz_examples=12),
    # A pre-event hook that refuses every genuine delivery (its verifier is broken) refuses
    # them just as it refuses a forgery: every check that sends a genuine delivery catches it.
    Broken("refuses_every_genuine_prehook", "verifies with another environment's secret",
           "twilio-conversations", ("onMessageAdd", "onConversationAdd"),
           {VALID: ALL, DOCUMENTED: ALL, MINIMAL: ALL, UNKNOWN_FIELDS: ALL, ENUMS: ALL,
            RAW_BODY: ALL, REPEATED: ALL, PREHOOK: ALL, SEQUENTIAL: ALL, CONCURRENT: ALL,
            UNKNOWN_EVENT: PROVIDER},
           _verifier(staging_secret)),
    Broken("naive_header_parsing", "500 on a garbage signature header", "varda",
           ("message.created",), {MALFORMED_HEADER: PROVIDER}, _verifier(naive_header_parsing)),
    Broken("location_table_first", "500 on a callback Location Twilio adds later",
           "twilio-frontline",
           ("onConversationAdd", "GetCustomerDetailsByCustomerId", "GetProxyAddress",
            "GetTemplatesByCustomerId"),
           {UNKNOWN_EVENT: ("GetCustomerDetailsByCustomerId", "GetProxyAddress",
                            "GetTemplatesByCustomerId")},
           _verifier(location_table_first)),
    Broken("upper_case_binding_only", "500 on the lower-case MessagingBinding.Type Twilio sends",
           "twilio-conversations", ("onParticipantAdded",), {ENUMS: ALL},
           _answerer(upper_case_binding_only)),
    # Operator signs the delivery id too, so only a retry (signed anew) has a new signature.
    Broken("dedupes_on_signature", "dedupes on the signature, not the delivery id", "operator",
           ("conversation.ended",), {SEQUENTIAL: ALL}, _store(SignatureDedupeStore)),
    Broken("check_then_insert", "SELECT, sleep, INSERT without a unique constraint", "varda",
           ("message.created",), {CONCURRENT: ALL},
           _store(lambda db: CheckThenInsertStore(db.with_name("racy.sqlite3")))),
)
