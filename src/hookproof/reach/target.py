"""The receiver under test, as the checks see it: send, time, record, observe effects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from hookproof import safejson
from hookproof.catalogue import Event, Provider
from hookproof.catalogue.validation import ValidationEngine
from hookproof.errors import HookproofError
from hookproof.reach.builder import Delivery, DeliveryBuilder
from hookproof.reach.settings import Settings
from hookproof.transport.client import DeliveryClient, Exchange

# The platforms' budgets are upper limits; the client waits this much longer so that a slow
# answer is measured (and failed by response.within_budget) rather than cut off.
GRACE_SECONDS = 2.0
STOP_AFTER_CONSECUTIVE = 3
POLL_SECONDS = 0.05
SETTLE_SECONDS = 0.25


PROXY_DOWN_STATUSES = (502, 503, 504)
"""What a proxy answers for a dead backend: never graded as the receiver's own answer."""
PROBE_INTERVAL = 0.2
KEPT_EXCHANGE_BODY = 2048
"""Bytes of each body the run keeps of an exchange once its check has judged it."""
PROBE_ANSWER_LIMIT = 64 * 1024
"""Bytes of an effects probe's answer read: {"count": n} is a few bytes."""


class TargetUnavailable(Exception):
    """The target (or one hook group's URL) cannot be tested: down, TLS, redirects, hangs.

    Every check that would send to it is recorded as *not run*, with this reason.
    """


CRASHES_PER_EVENT = 2
"""Checks of one event that may crash the receiver before its other checks are not run."""


class TargetCrashed(Exception):
    """A delivery's connection was closed or reset without an answer, the target stopped
    accepting connections after it, or a proxy answered for a dead backend: the receiver
    stopped answering. The check that sent it fails with this as its finding."""

    def __init__(self, exchange: Exchange, *, back: bool, waited: float,
                 output: str = "", exit_status: str | None = None) -> None:
        self.exchange = exchange
        self.back = back
        self.waited = waited
        self.output = output
        self.exit_status = exit_status
        super().__init__(exchange.error or f"HTTP {exchange.status}")

    @property
    def raised(self) -> bool:
        """An in-process app raised: its delivery's failure; the app itself lives on."""
        return self.exchange.error_kind == "raised"


EffectsHook = Callable[[str, str, str], "int | None"]


@dataclass
class EffectsProbe:
    """How many times the receiver processed the delivery with a given dedupe key.

    Either an HTTP endpoint (``--effects-url``: GET ``?key=...`` answering ``{"count": n}``)
    or the ``pytest_hookproof_effects`` hook a team implements in its conftest.
    """

    url: str | None = None
    hook: EffectsHook | None = None
    verify: bool | str = True
    app: Any = None
    """An in-process app (:class:`~hookproof.transport.inprocess.AppTransport`) the probe's URL is
    asked of, when the target is one."""
    record_path: str | None = None
    """Append each probe request to this JSONL file too (bench/: part of the floor)."""

    @property
    def available(self) -> bool:
        return self.url is not None or self.hook is not None

    def settled_count(self, provider: str, event: str, key: str, wait: float) -> int | None:
        """The count once it has had up to ``wait`` seconds to appear.

        A receiver that answers first and processes later shows 0 for a moment: the probe is
        polled until it counts something or the deadline passes. Where it had to wait, it looks
        once more a little later, so that a late second effect is seen too.
        """
        deadline = time.monotonic() + wait
        count = self.count(provider, event, key)
        waited = False
        while count == 0 and time.monotonic() < deadline:
            waited = True
            time.sleep(POLL_SECONDS)
            count = self.count(provider, event, key)
        if waited and count:
            time.sleep(min(SETTLE_SECONDS, max(0.0, deadline - time.monotonic())))
            count = self.count(provider, event, key)
        return count

    def count(self, provider: str, event: str, key: str) -> int | None:
        if self.hook is not None:
            answer = self.hook(provider, event, key)
            if answer is not None:
                return int(answer)
        if self.url is None:
            return None
        if self.app is not None:
            return self._count_in_process(key)
        if self.record_path:
            _record_request(self.record_path, "effects", "GET",
                            requests.Request("GET", self.url, params={"key": key}).prepare().url
                            or self.url, {}, b"")
        try:
            response = self._session().get(self.url, params={"key": key}, timeout=10,
                                           verify=self.verify, stream=True)
            response.raise_for_status()
            raw = response.raw.read(PROBE_ANSWER_LIMIT + 1, decode_content=True)
            response.close()
            if len(raw) > PROBE_ANSWER_LIMIT:
                raise ValueError(f"its answer is over {PROBE_ANSWER_LIMIT} bytes")
            document: Any = safejson.loads(raw, what="its answer")
            count = document["count"]
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 10**9:
                raise ValueError(f"count {str(count)[:20]!r} is not a count")
            return count
        except (requests.RequestException, HookproofError, ValueError, KeyError,
                TypeError) as exc:
            raise TargetUnavailable(
                f"the effects probe {self.url} did not answer {{\"count\": n}} ({exc})"
            ) from None


    def _session(self) -> requests.Session:
        """One keep-alive session for every probe (a new connection each time costs more
        than the probe)."""
        session: requests.Session | None = self.__dict__.get("_kept")
        if session is None:
            session = requests.Session()
            session.trust_env = False  # as deliveries: no proxy from the environment
            self.__dict__["_kept"] = session
        return session

    def _count_in_process(self, key: str) -> int:
        from urllib.parse import urlencode

        from hookproof.signing import WireRequest

        assert self.url is not None
        separator = "&" if "?" in self.url else "?"
        request = WireRequest("GET", f"{self.url}{separator}{urlencode({'key': key})}", {}, b"")
        exchange = self.app.exchange(request, 10.0, PROBE_ANSWER_LIMIT)
        try:
            if exchange.error or exchange.status != 200 or exchange.truncated:
                raise ValueError(exchange.error or f"HTTP {exchange.status}")
            count = safejson.loads(exchange.body, what="its answer")["count"]
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 10**9:
                raise ValueError(f"count {str(count)[:20]!r} is not a count")
            return count
        except (HookproofError, ValueError, KeyError, TypeError) as exc:
            raise TargetUnavailable(
                f"the effects probe {self.url} did not answer {{\"count\": n}} ({exc})"
            ) from None


@dataclass
class Target:
    """Session-wide resource: the provider, the builder, the client and what was exchanged."""

    provider: Provider
    settings: Settings
    builder: DeliveryBuilder
    client: DeliveryClient
    engine: ValidationEngine
    effects: EffectsProbe
    secret_env: str
    exchanges: list[tuple[str, str, Exchange]] = field(default_factory=list)
    record_path: str | None = None
    """Append every request sent to this JSONL file (bench/: replayed as the floor)."""
    _consecutive_failures: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _forged: dict[str, Exchange] = field(default_factory=dict)
    down: dict[str, str] = field(default_factory=dict)
    """Endpoint URL -> why it cannot be tested (the checks that would send there: not run)."""
    answered: set[str] = field(default_factory=set)
    """Endpoints that have answered at least once (a refusal later is a crash, not a typo)."""
    crashes: dict[str, list[str]] = field(default_factory=dict)
    """Event -> the checks whose delivery of it crashed the receiver. Once an event has
    crashed it in :data:`CRASHES_PER_EVENT` checks, its other checks are not run (each would
    only crash it again), and the other events go on."""
    managed: Any = None
    """The receiver process hookproof started (``--target-command``), if any."""
    platform: Any = None
    """In-process targets: the :class:`~hookproof.catalogue.platform_stub.PlatformGuard` that
    answers (or, with ``--no-platform-stub``, records) the receiver's calls to the platform."""

    @property
    def in_process(self) -> bool:
        return self.client.app is not None

    def serve_app(self, app: Any, name: str = "the app") -> None:
        """Send every delivery (and the effects probe) to ``app`` in this process."""
        from hookproof.catalogue.platform_stub import PlatformGuard
        from hookproof.transport.inprocess import AppTransport

        transport = AppTransport(app, name=name)
        self.client.app = transport
        self.effects.app = transport
        self.platform = PlatformGuard(stub=not self.settings.no_platform_stub)

    def platform_active(self) -> Any:
        """While a check runs: the receiver's platform calls answered by the stub."""
        import contextlib

        return self.platform.active() if self.platform is not None else (
            contextlib.nullcontext())

    def budget(self, event: Event) -> float:
        """The time an answer may take: the platform's budget, or a tighter one asked for."""
        if self.settings.budget is not None:
            return min(self.settings.budget, event.budget)
        return event.budget

    def accepted_classes(self, event: Event) -> frozenset[str]:
        """Status classes that count as accepting ``event`` (overridable per event)."""
        override = (self.settings.expect or {}).get(event.name)
        if override:
            return override
        return frozenset({"2xx", "4xx"}) if event.rejectable else frozenset({"2xx"})

    def refusal_declared(self, event: Event) -> bool:
        """The team said this event is refused on purpose (``--expect EVENT=4xx``)."""
        return "4xx" in (self.settings.expect or {}).get(event.name, frozenset())

    def forged_answer(self, check: str, event: Event, forged: Callable[[], Delivery]) -> Exchange:
        """What the receiver answers a forged delivery of ``event`` (asked once per event):
        the refusal a genuine delivery's refusal is compared with."""
        with self._lock:
            known = self._forged.get(event.name)
        if known is None:
            known = self.send(check, forged())
            with self._lock:
                self._forged[event.name] = known
        return known

    def endpoint_of(self, event: Event) -> str:
        """The URL deliveries of ``event`` go to: its own outage does not stop the others."""
        return self.builder.url_for(event)

    def check_available(self, event: Event) -> None:
        """Raise :class:`TargetUnavailable` when ``event``'s endpoint is down."""
        reason = self._down_reason(self.endpoint_of(event))
        if reason is not None:
            raise TargetUnavailable(reason)

    def _down_reason(self, endpoint: str) -> str | None:
        # an endpoint is down on its own (a proxy's 503, a hang), or with its whole server
        # (connections refused: every hook group served from that host and port)
        return self.down.get(endpoint) or self.down.get(_server_of(endpoint))

    def _crashing(self, event: str) -> str | None:
        with self._lock:
            checks = self.crashes.get(event, [])
        if len(checks) < CRASHES_PER_EVENT:
            return None
        return (f"this event crashes the receiver (see {', '.join(checks)}): its other "
                "checks were not run, so that the other events are judged")

    def _crashed_on(self, event: str, check: str) -> None:
        with self._lock:
            found = self.crashes.setdefault(event, [])
            if check not in found:
                found.append(check)

    def send(self, check: str, delivery: Delivery | Exchange) -> Exchange:
        event = request_event(delivery)
        reason = self._crashing(event)
        if reason is not None:
            raise TargetUnavailable(reason)
        try:
            return self._send(check, delivery)
        except TargetCrashed as crashed:
            if not crashed.raised:  # an in-process app that raised lives on
                self._crashed_on(event, check)
            raise

    def _send(self, check: str, delivery: Delivery | Exchange) -> Exchange:
        endpoint = self._endpoint(delivery)
        reason = self._down_reason(endpoint)
        if reason is not None:
            raise TargetUnavailable(reason)
        if self.managed is not None:
            exchange, mark = self._send_managed(check, delivery, endpoint)
        else:
            mark = 0
            exchange = self.client.send(delivery.request, timeout=self._timeout(delivery))
        if exchange.error_kind == "closed" and self.managed is None:
            # A kept-alive connection the receiver closed while idle looks the same as a
            # crash: send once more on a new connection before calling it one.
            self._note(check, request_event(delivery), exchange)
            again = self.client.send(delivery.request, timeout=self._timeout(delivery))
            if again.error_kind not in ("closed", "unreachable"):
                exchange = again
            else:
                self._note(check, request_event(delivery), again)
                self._judge_availability(endpoint, exchange, mark)  # raises: a crash
        self._note(check, request_event(delivery), exchange)
        self._judge_availability(endpoint, exchange, mark)
        return exchange

    def _send_managed(self, check: str, delivery: Delivery | Exchange,
                      endpoint: str) -> tuple[Exchange, int]:
        """Send to a receiver hookproof manages; a delivery the receiver drops is the crash's
        cause only if, resent alone once it is back, it crashes it again (under pytest-xdist,
        another worker's delivery may have crashed it while this one was in flight)."""
        assert self.managed is not None
        request, timeout = delivery.request, self._timeout(delivery)
        with self.managed.sending():
            mark = self.managed.mark()
            exchange = self.client.send(request, timeout=timeout)
        if exchange.error_kind not in ("closed", "unreachable"):
            return exchange, mark
        self._note(check, request_event(delivery), exchange)
        with self.managed.sending(alone=True):
            back, output, status = self.managed.recover(mark)
            if not back:
                raise self._crashed(endpoint, exchange, mark, gone=(output, status))
            again_mark = self.managed.mark()
            again = self.client.send(request, timeout=timeout)
            if again.error_kind not in ("closed", "unreachable"):
                return again, again_mark
            self._note(check, request_event(delivery), again)
            # crashed again when alone: this delivery's doing, and what the receiver printed
            # from the resend on is its stack trace (the first window may hold another's)
            raise self._crashed(endpoint, again, again_mark)

    def send_together(self, check: str, deliveries: Sequence[Delivery]) -> list[Exchange]:
        event = deliveries[0].event.name
        reason = self._crashing(event)
        if reason is not None:
            raise TargetUnavailable(reason)
        try:
            return self._send_together(check, deliveries)
        except TargetCrashed as crashed:
            if not crashed.raised:
                self._crashed_on(event, check)
            raise

    def _send_together(self, check: str, deliveries: Sequence[Delivery]) -> list[Exchange]:
        endpoint = self._endpoint(deliveries[0])
        reason = self._down_reason(endpoint)
        if reason is not None:
            raise TargetUnavailable(reason)
        if self.managed is not None:
            requests_ = [d.request for d in deliveries]
            with self.managed.sending():
                mark = self.managed.mark()
                exchanges = self.client.send_together(requests_)
            if any(e.error_kind in ("closed", "unreachable") for e in exchanges):
                # as for one delivery: the crash is these copies' only if, sent again alone
                # once the receiver is back, they crash it again
                with self.managed.sending(alone=True):
                    back, _, _ = self.managed.recover(mark)
                    if back:
                        for delivery, dropped in zip(deliveries, exchanges, strict=True):
                            self._note(check, delivery.event.name, dropped)
                        mark = self.managed.mark()
                        exchanges = self.client.send_together(requests_)
        else:
            mark = 0
            exchanges = self.client.send_together([d.request for d in deliveries])
        for delivery, exchange in zip(deliveries, exchanges, strict=True):
            self._note(check, delivery.event.name, exchange)
        for exchange in exchanges:
            self._judge_availability(endpoint, exchange, mark)
        return exchanges

    def _endpoint(self, delivery: Delivery | Exchange) -> str:
        if isinstance(delivery, Delivery):
            return self.endpoint_of(delivery.event)
        return delivery.request.url.partition("?")[0]

    def _judge_availability(self, endpoint: str, exchange: Exchange, mark: int) -> None:
        """Tell a crash, an outage and a hang apart from the receiver's own answers."""
        kind = exchange.error_kind
        if kind == "raised":  # an in-process app raised: its delivery's crash, the app lives on
            raise TargetCrashed(exchange, back=True, waited=0.0, output=exchange.trace or "")
        # in process there is no proxy: a 502/503/504 is the app's own answer
        answered = exchange.status is not None and (
            self.in_process or exchange.status not in PROXY_DOWN_STATUSES)
        server = _server_of(endpoint)
        if answered and kind != "redirect":
            with self._lock:
                self.answered.update((endpoint, server))
                self._consecutive_failures[endpoint] = 0
            return
        if kind in ("tls", "redirect", "garbage") or (kind == "unreachable"
                                                      and server not in self.answered
                                                      and self.managed is None):
            reason = f"target {endpoint} cannot be tested: {exchange.error}"
            with self._lock:
                self.down.setdefault(endpoint, reason)
            raise TargetUnavailable(reason)
        if kind == "timeout":
            with self._lock:
                count = self._consecutive_failures.get(endpoint, 0) + 1
                self._consecutive_failures[endpoint] = count
                if count >= STOP_AFTER_CONSECUTIVE:
                    self.down.setdefault(endpoint, (
                        f"target {endpoint} failed {STOP_AFTER_CONSECUTIVE} deliveries in a "
                        f"row ({exchange.error}); its remaining checks were not run"))
            return  # the check judges the slow answer itself (response.within_budget & co.)
        # closed or reset without an answer, refused after answering, a proxy's 502/503/504
        raise self._crashed(endpoint, exchange, mark)

    def _crashed(self, endpoint: str, exchange: Exchange, mark: int, *,
                 gone: tuple[str, str | None] | None = None) -> TargetCrashed:
        """The crash of ``exchange``, once the target is back or the wait is over.

        ``gone``: a managed receiver already waited for, which did not come back (its output
        and how it ended).
        """
        started = time.monotonic()
        output, exit_status = "", None
        if gone is not None:
            back = False
            output, exit_status = gone
        elif self.managed is not None:
            back, output, exit_status = self.managed.recover(mark)
        else:
            back = wait_until_up(endpoint, self.settings.target_wait, self.client.verify)
        waited = time.monotonic() - started
        if not back:
            # connections refused or dropped: the server itself is gone, every hook group
            # it serves with it; a proxy's 502/503/504: only the backend of this endpoint
            where = endpoint if exchange.status in PROXY_DOWN_STATUSES else _server_of(endpoint)
            why = (f"the receiver at {where} {exit_status}" if exit_status
                   and "not restarted" in exit_status else
                   f"the receiver at {where} stopped answering and did not come back within "
                   f"{self.settings.target_wait:g} s")
            with self._lock:
                self.down.setdefault(where, why + "; its remaining checks were not run")
        return TargetCrashed(exchange, back=back, waited=waited, output=output,
                             exit_status=exit_status)

    def _timeout(self, delivery: Delivery | Exchange) -> float:
        event = delivery.event if isinstance(delivery, Delivery) else None
        budget = event.budget if event else self.provider.timeout_budget
        return budget + GRACE_SECONDS

    def _note(self, check: str, event: str, exchange: Exchange) -> None:
        with self._lock:
            # kept for latency and reports: a bounded prefix, whatever the target answered
            self.exchanges.append((check, event, exchange.trimmed(KEPT_EXCHANGE_BODY)))
            if self.record_path:
                self._record(check, exchange)

    def _record(self, check: str, exchange: Exchange) -> None:
        request = exchange.request
        _record_request(self.record_path or "", check, request.method, request.url,
                        request.headers, request.body)


def _record_request(path: str, check: str, method: str, url: str,
                    headers: Mapping[str, str], body: bytes) -> None:
    import base64
    import json

    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({
            "check": check, "method": method, "url": url, "headers": dict(headers),
            "body": base64.b64encode(body).decode("ascii"),
        }) + "\n")


def _xdist_lane() -> tuple[int, int]:
    """(this worker's index, how many workers) under pytest-xdist, else (0, 1)."""
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    try:
        count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        index = int(worker.removeprefix("gw")) if worker else 0
    except ValueError:
        return (0, 1)
    return (index % count, count) if count > 0 else (0, 1)


def _server_of(url: str) -> str:
    """``scheme://host:port`` of a URL: what a refused connection says is down."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def wait_until_up(url: str, wait: float, verify: bool | str = True) -> bool:
    """Poll ``url`` until it gives an HTTP answer a dead backend's proxy would not (any status
    but 502/503/504), for at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            response = requests.get(url, timeout=max(0.2, min(1.0, wait)), verify=verify,
                                    allow_redirects=False)
            if response.status_code not in PROXY_DOWN_STATUSES:
                return True
        except requests.RequestException:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(PROBE_INTERVAL)


def request_event(delivery: Delivery | Exchange) -> str:
    return delivery.event.name if isinstance(delivery, Delivery) else "?"


def make_target(provider: Provider, settings: Settings, *, secret: str, engine: ValidationEngine,
                effects_hook: EffectsHook | None = None) -> Target:
    from hookproof.scrub import register

    register(secret)  # from here on, nothing hookproof writes shows it
    verify: bool | str = False if settings.insecure else (settings.ca_bundle or True)
    assert settings.target_url is not None
    builder = DeliveryBuilder(
        provider,
        target_url=settings.target_url,
        secret=secret,
        signing_url=settings.signing_url,
        method=settings.method,
        hook_urls=settings.hook_urls,
        signing_urls=settings.signing_urls,
        forwarded=not settings.no_forwarded,
        lane=_xdist_lane(),
    )
    client = DeliveryClient(timeout=provider.timeout_budget + GRACE_SECONDS, verify=verify,
                            max_answer=settings.max_answer)
    import os

    effects = EffectsProbe(url=settings.effects_url, hook=effects_hook, verify=verify,
                           record_path=os.environ.get("HOOKPROOF_RECORD_REQUESTS") or None)

    return Target(provider, settings, builder, client, engine, effects, settings.secret_env,
                  record_path=os.environ.get("HOOKPROOF_RECORD_REQUESTS") or None)
