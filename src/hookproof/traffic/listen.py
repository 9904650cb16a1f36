"""``hookproof listen``: real deliveries graded on their way to the receiver.

A forwarding receiver on the reference receiver's stack (Starlette, uvicorn) that a team puts
behind its own tunnel and registers as the platform's webhook URL. For each delivery it checks
the platform's signature (over ``--public-url``, the URL the platform signs), validates the
payload against the contract (errors and drift apart), forwards the bytes unchanged (with the
proxy headers a proxy adds) to ``--forward-to``, grades the receiver's answer (status, budget,
response contract), and gives that answer back to the platform unchanged; a receiver that is
down gets the platform a 503. One line per delivery is printed; ``--record FILE`` keeps every
exchange (JSONL, or HAR by the suffix; the secret scrubbed, the signatures kept so that they
can be verified again), which ``hookproof replay`` reads. Ctrl-C or ``--max-deliveries N`` ends
it and the report is written.
"""


from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from hookproof.catalogue import Event, Provider, load_catalogue
from hookproof.errors import InputError, UsageError
from hookproof.scrub import register, scrub, scrub_data
from hookproof.signing import WireRequest, scheme_for
from hookproof.traffic import RECORD_LIMIT_MIB
from hookproof.transport.client import DeliveryClient, Exchange
from hookproof.transport.encoding import decode_body

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "host", "content-length"}
GRACE_SECONDS = 2.0
MAX_BODY = 1024 * 1024
KEPT_DELIVERIES = 1000
"""Deliveries a session keeps one by one for its report (the last ones); every delivery is
counted, so a long session's memory stays flat and its verdict stays whole."""


@dataclass
class Graded:
    """One delivery seen by ``listen``: what came in, what the receiver said, the verdict."""

    event: str
    signature: str
    """``ok``, or why it is not (``mismatch``, ``missing``, ``stale``...)."""
    errors: int
    drift: int
    status: int | None
    elapsed_ms: float
    verdict: str
    """``ok`` or ``fail: <why>``."""
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """A blocking finding (``fail: ...``); ``ok (recommended: ...)`` is not one."""
        return self.verdict.startswith("fail")

    def line(self, event_width: int = 28) -> str:
        """One line per delivery, in columns: every field has a fixed width (the event's,
        the provider's longest name), so a session's lines align whatever they hold."""
        answer = (f"HTTP {self.status} in {self.elapsed_ms:>5.0f} ms" if self.status is not None
                  else "receiver down")
        return (f"{datetime.now(UTC).strftime('%H:%M:%S')}  {self.event:<{event_width}}  "
                f"signature {self.signature:<{SIGNATURE_WIDTH}}  contract {self.errors:>3} "
                f"error(s) {self.drift:>3} drift  -> {answer:<20}  {self.verdict}")


SIGNATURE_WIDTH = len("BAD (mismatch)")
"""The signature column: ``ok``, or ``BAD (<reason>)`` for the usual reasons."""
EVENT_WIDTH_MAX = 48
"""The event column at most (a longer name pushes its own line's columns, not every line)."""


def _event_for(provider: Provider, path: str, payload: Any,
               headers: Mapping[str, str] | None = None) -> Event | None:
    name = provider.event_name_of(payload, headers)
    if name is not None and provider.has_event(name):
        return provider.event(name)
    for group, default in provider.hook_groups.items():
        events = [e for e in provider.events if e.group == group]
        if default and path.rstrip("/").endswith(default.rstrip("/")) and len(events) == 1:
            return events[0]
    return None


def grade(judge_for: Callable[[Event], Any], event: Event | None, exchange: Exchange, *,
          defect: str | None = None) -> str:
    """The receiver's answer as the platform takes it: ``ok`` or ``fail: <why>``, by the
    suite's own judges (:class:`~hookproof.checks.judge.Judge`, as ``send`` and ``replay``
    judge): the same budget, the same accepted answers, the same response contract.

    ``defect``: why the delivery's signature did not verify (``missing``, ``mismatch``,
    ``stale``...); such a delivery must be refused, as the matching signature check requires.
    """
    from hookproof.checks.failures import CheckFailure
    from hookproof.checks.verdict import blocking

    if exchange.error:
        return f"fail: {exchange.error}"
    if event is None:  # no contract says what it is: it must not crash the receiver
        return "ok" if exchange.status_class() in ("2xx", "4xx") else (
            f"fail: HTTP {exchange.status} to an unknown event")
    judge = judge_for(event)
    try:
        if defect is None:
            judge.accepted(exchange)
        else:
            judge.refused(exchange, defect)
    except CheckFailure as failure:
        if blocking(failure.severity, strict=False):
            return f"fail: {failure.title} ({failure.got})"
        return f"ok (recommended: {failure.title})"
    return "ok"


def _body_field(body: bytes) -> dict[str, str]:
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(body).decode("ascii")}


class Listener:
    """The state of one ``listen`` session: the graded deliveries and the record file."""

    def __init__(self, provider: Provider, *, forward_to: str, secret: str,
                 public_url: str | None = None, record: Path | None = None,
                 max_deliveries: int | None = None, out: TextIO,
                 record_limit: int = RECORD_LIMIT_MIB * 1024 * 1024) -> None:
        self.provider = provider
        self.event_width = min(EVENT_WIDTH_MAX, max(
            [len("(unknown)"), *(len(e.name) for e in provider.events)]))
        self.forward_to = forward_to.rstrip("/")
        self.secret = secret
        self.public_url = public_url
        self.record = record
        self.max_deliveries = max_deliveries
        self.out = out
        self.scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
        self.client = DeliveryClient(timeout=provider.timeout_budget + GRACE_SECONDS)
        self._target: Any = None
        """The suite's view of the receiver, made on first use, for its judges."""
        self._target_lock = threading.Lock()
        self.graded: deque[Graded] = deque(maxlen=KEPT_DELIVERIES)
        self.har: list[dict[str, Any]] = []
        self.record_limit = record_limit
        self.recorded = 0
        self.delivered = self.bad_signatures = self.failed = self.failed_dropped = 0
        self.admitted = 0
        """Deliveries taken in (counted when they arrive, so that ``--max-deliveries N``
        handles N however many arrive at once); one past it is answered 503, unforwarded."""
        self.counts: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        register(secret)
        if record is not None and record.suffix.lower() != ".har":
            record.parent.mkdir(parents=True, exist_ok=True)
            record.touch()

    def judge_for(self, event: Event) -> Any:
        """The suite's judge of ``event``, for the receiver listen forwards to."""
        from hookproof.catalogue.validation import engine_for
        from hookproof.checks.judge import Judge
        from hookproof.reach.settings import Settings
        from hookproof.reach.target import make_target

        with self._target_lock:  # deliveries are handled on several threads
            if self._target is None:
                settings = Settings(target_url=self.forward_to + "/", provider=self.provider.id)
                self._target = make_target(self.provider, settings, secret=self.secret,
                                           engine=engine_for())
                self._target.client.close()  # it judges; listen's own client sends
        return Judge(self.provider, event, self._target)

    def handle(self, method: str, path_query: str, received_url: str,
               headers: Mapping[str, str], body: bytes) -> tuple[int, bytes, str]:
        """One delivery: check, forward, grade; the answer for the platform."""
        from hookproof.catalogue.validation import engine_for

        with self.lock:
            if self.max_deliveries is not None and self.admitted >= self.max_deliveries:
                # the session is over: the platform retries it later, to the receiver itself
                return 503, b"hookproof listen: --max-deliveries reached\n", "text/plain"
            self.admitted += 1
        provider = self.provider
        wire = WireRequest(method, received_url, dict(headers), body)
        window = provider.replay_window
        verdict = self.scheme.verify(wire, self.secret, now=int(time.time()),
                                     tolerance=window.seconds if window else None)
        payload: Any = None
        source = body if method != "GET" else urlsplit(received_url).query.encode("latin-1")
        try:
            payload = decode_body(source, provider.transport.encoding)
        except InputError:
            payload = None
        event = _event_for(provider, urlsplit(received_url).path, payload, headers)
        errors = drift = 0
        if event is not None and payload is not None:
            result = engine_for().validator(event.request).validate(payload)
            errors, drift = len(result.errors), len(result.drift)
        forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        public = urlsplit(received_url)
        forwarded.update({"X-Forwarded-Proto": public.scheme, "X-Forwarded-Host": public.netloc,
                          "X-Forwarded-For": "127.0.0.1"})
        target = self.forward_to + path_query
        exchange = self.client.send(WireRequest(method, target, forwarded, body))
        if exchange.error:
            status, answer_body, kind = 503, json.dumps(
                {"error": f"the receiver is down: {exchange.error}"}).encode(), (
                "application/json")
        else:
            status = exchange.status or 502
            answer_body = exchange.body
            kind = next((v for k, v in exchange.headers.items()
                         if k.lower() == "content-type"), "application/octet-stream")
        graded = Graded(
            event=event.name if event else (provider.event_name_of(payload, headers)
                                            or "(unknown)"),
            signature="ok" if verdict.ok else f"BAD ({verdict.reason})", errors=errors,
            drift=drift, status=exchange.status if not exchange.error else None,
            elapsed_ms=round(exchange.elapsed * 1000, 1),
            verdict=grade(self.judge_for, event, exchange,
                          defect=None if verdict.ok else str(verdict.reason)))
        graded.record = scrub_data({
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": method, "url": received_url, "headers": dict(headers),
            **_body_field(body), "event": graded.event, "signature": graded.signature,
            "errors": errors, "drift": drift,
            "answer": {"status": graded.status, "content_type": kind,
                       "elapsed_ms": graded.elapsed_ms, **_body_field(answer_body[:2048])},
            "verdict": graded.verdict,
        })  # type: ignore[assignment]
        with self.lock:
            self._count(graded)
            print(scrub(graded.line(self.event_width)), file=self.out, flush=True)
            self._record(graded.record)
            graded.record = {}  # the body lives in the record file, not in memory
            if self.max_deliveries is not None and self.delivered >= self.max_deliveries:
                self.done.set()
        if exchange.error:
            print(f"hookproof listen: the receiver at {self.forward_to} is down "
                  f"({exchange.error}); the platform was answered 503", file=self.out,
                  flush=True)
        return status, answer_body, kind

    def _count(self, graded: Graded) -> None:
        if len(self.graded) == self.graded.maxlen and self.graded[0].failed:
            self.failed_dropped += 1
        self.graded.append(graded)
        self.delivered += 1
        self.bad_signatures += graded.signature != "ok"
        self.failed += graded.failed
        row = self.counts.setdefault(graded.event, {
            "event": graded.event, "deliveries": 0, "bad_signatures": 0, "contract_errors": 0,
            "drift": 0, "receiver_failures": 0})
        row["deliveries"] += 1
        row["bad_signatures"] += graded.signature != "ok"
        row["contract_errors"] += graded.errors
        row["drift"] += graded.drift
        row["receiver_failures"] += graded.failed

    def _record(self, record: dict[str, Any]) -> None:
        if self.record is None or self.recorded > self.record_limit:
            return
        line = json.dumps(record)
        self.recorded += len(line) + 1
        if self.recorded > self.record_limit:
            print(f"hookproof listen: --record {self.record} reached its limit "
                  f"({self.record_limit / (1024 * 1024):g} MiB, --record-limit): later "
                  "deliveries are graded, not recorded", file=self.out, flush=True)
            return
        if self.record.suffix.lower() == ".har":
            self.har.append(record)
        else:
            with self.record.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def finish(self, reports: Path) -> dict[str, Any]:
        """Write the record (HAR) and the report; the report."""
        if self.record is not None and self.record.suffix.lower() == ".har":
            write_har(self.record, self.har)
        report = self.report()
        from hookproof.reports.document import write

        write(report, reports)
        return report

    def report(self) -> dict[str, Any]:
        from hookproof.reports.document import document, target_section

        records = [{
            "provider": self.provider.id, "check": "live.delivery",
            "event": g.event if self.provider.has_event(g.event) else None,
            # an answer the suite only recommends against is a recommended finding here too
            "severity": "required" if g.failed else "recommended",
            "outcome": "pass" if g.verdict == "ok" else "fail",
            "failure": None, "latencies_ms": [(g.event, g.elapsed_ms)] if g.status else [],
            **({"reason": g.verdict} if g.verdict != "ok" else {}),
        } for g in self.graded]
        if self.failed_dropped:
            records.append({
                "provider": self.provider.id, "check": "live.delivery", "event": None,
                "severity": "required", "outcome": "fail", "failure": None,
                "latencies_ms": [],
                "reason": f"{self.failed_dropped} earlier deliveries answered wrongly (the "
                f"report keeps the last {KEPT_DELIVERIES} one by one; the counts are whole)"})
        section = target_section(
            name=f"listen-{self.provider.id}",
            provider={"id": self.provider.id, "events": [e.name for e in self.provider.events],
                      "budgets": {e.name: e.budget for e in self.provider.events}},
            url=self.forward_to, records=records)
        section["live"] = [dict(row) for row in self.counts.values()]
        return document([section], started=datetime.now(UTC).isoformat(timespec="seconds"),
                        duration=0.0)


def write_har(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    entries = []
    for record in records:
        body = record.get("body") or base64.b64decode(record.get("body_base64") or "").decode(
            "latin-1")
        answer = record.get("answer") or {}
        entries.append({
            "startedDateTime": record.get("time"), "time": answer.get("elapsed_ms", 0),
            "request": {"method": record["method"], "url": record["url"],
                        "httpVersion": "HTTP/1.1", "cookies": [], "queryString": [],
                        "headers": [{"name": k, "value": v}
                                    for k, v in (record.get("headers") or {}).items()],
                        "postData": {"mimeType": next(
                            (v for k, v in (record.get("headers") or {}).items()
                             if k.lower() == "content-type"), ""), "text": body},
                        "headersSize": -1, "bodySize": len(body)},
            "response": {"status": answer.get("status") or 0, "statusText": "",
                         "httpVersion": "HTTP/1.1", "cookies": [], "headers": [],
                         "content": {"size": -1, "mimeType": answer.get("content_type", ""),
                                     "text": answer.get("body", "")},
                         "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": answer.get("elapsed_ms", 0),
                                     "receive": 0},
        })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {
        "name": "hookproof listen", "version": "1"}, "entries": entries}}, indent=1),
        encoding="utf-8")


def listen_app(listener: Listener) -> Any:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from hookproof.receiver.app import signed_url

    async def receive(request: Request) -> Response:
        if request.method == "GET" and not request.url.query:
            # a health check of the tunnel, not a delivery
            return Response(b"hookproof listen\n", 200, media_type="text/plain")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return Response(b'{"error":"body too large"}', 413,
                                media_type="application/json")
        query = request.url.query
        path_query = request.url.path + (f"?{query}" if query else "")
        received = signed_url(request, listener.public_url)
        status, answer, kind = await run_in_threadpool(
            listener.handle, request.method, path_query, received, dict(request.headers), body)
        return Response(answer, status, headers={"Content-Type": kind})

    return Starlette(routes=[Route("/{path:path}", receive, methods=["GET", "POST"])])


def run_listen(provider_id: str, *, port: int, forward_to: str, secret: str,
               public_url: str | None, record: Path | None, max_deliveries: int | None,
               reports: Path, out: TextIO, record_limit_mib: int = RECORD_LIMIT_MIB) -> int:
    import uvicorn

    provider = load_catalogue().provider(provider_id)
    import socket

    try:  # a port that is taken is a usage error, said before anything starts
        with socket.create_server(("127.0.0.1", port)):
            pass
    except OSError as exc:
        raise UsageError(f"--port {port}: cannot listen there ({exc.strerror or exc})") from None
    listener = Listener(provider, forward_to=forward_to, secret=secret, public_url=public_url,
                        record=record, max_deliveries=max_deliveries, out=out,
                        record_limit=record_limit_mib * 1024 * 1024)
    config = uvicorn.Config(listen_app(listener), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    def stop_when_done() -> None:
        listener.done.wait()
        server.should_exit = True

    threading.Thread(target=stop_when_done, daemon=True).start()
    print(f"hookproof listen: {provider.id} on http://127.0.0.1:{port}, forwarding to "
          f"{forward_to}" + (f" (the platform signs {public_url})" if public_url else ""),
          file=out, flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the session: the report
        server.run()
    report = listener.finish(reports)
    print(f"hookproof listen: {listener.delivered} deliveries, {listener.bad_signatures} with "
          f"a bad signature, {listener.failed} answered wrongly; report: "
          f"{reports / 'conformance.html'}", file=out)
    return 1 if not report["conformant"] else 0


# -- replay ---------------------------------------------------------------------------------------
