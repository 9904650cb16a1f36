"""Sending deliveries: one keep-alive session, every exchange timed, failures named.

A transport failure (refused, reset, TLS, timeout, redirect) never escapes as a ``requests``
traceback: it becomes an :class:`Exchange` whose ``error`` says what happened in one line.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import http.client
import http.cookiejar
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool

from hookproof.transport.scope import PlatformCall
from hookproof.transport.wire import WireRequest

MAX_INFORMATIONAL = 32
"""Informational answers (``100 Continue``...) read before the real one: http.client reads
them without end, so a target answering an endless stream of them would keep its exchange's
thread busy for ever."""


class _BoundedResponse(http.client.HTTPResponse):
    def _read_status(self) -> tuple[str, int, str]:
        self._statuses = getattr(self, "_statuses", 0) + 1
        if self._statuses > MAX_INFORMATIONAL:
            raise http.client.HTTPException(
                f"more than {MAX_INFORMATIONAL} informational (1xx) answers")
        return super()._read_status()  # type: ignore[misc, no-any-return]


class _HTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _BoundedResponse


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _BoundedResponse


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Platforms keep no cookies: an answer's ``Set-Cookie`` never reaches a later delivery
    (a session cookie or a sticky load balancer would be judged on requests no platform
    sends, and 90 cookies of 4 KB make a 360 KB ``Cookie`` header)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class _DaemonPool:
    """Worker threads for exchanges, as daemons: an exchange abandoned at its deadline (a
    target trickling its body, or sending ``100 Continue`` without end) is never joined at
    interpreter exit, so the process ends right after the verdict."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]
                                      | None] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        self._jobs.put((job, future))
        if start:
            threading.Thread(target=self._work, name=self._name, daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job())
                except BaseException as exc:  # handed to the waiting caller
                    future.set_exception(exc)
            with self._lock:
                if self._closed:
                    return
                self._idle += 1

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)


@dataclass(frozen=True)
class Exchange:
    """One request and what came back (or why nothing did)."""

    request: WireRequest
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0
    """Seconds from sending to the whole answer read."""
    error: str | None = None
    """Why there is no usable answer: ``connection refused``, ``timed out after 5.0 s``…"""
    error_kind: str | None = None
    """``unreachable`` | ``tls`` | ``timeout`` | ``redirect`` | ``garbage`` (not HTTP) |
    ``closed`` (closed or reset without an answer) | ``raised`` (an in-process app raised)."""
    truncated: bool = False
    """The answer was longer than the bytes read (``--hookproof-max-answer``): the rest was
    discarded unread, and ``body`` holds the start of it."""
    trace: str | None = None
    """In-process targets: the traceback the receiver's handler raised or logged."""
    platform_calls: tuple[PlatformCall, ...] = ()
    """In-process targets: the HTTP calls the handler made while answering."""
    in_process: bool = False
    """The app answered in this process (no server): a reproduction needs it served."""

    @property
    def failed_platform_calls(self) -> tuple[PlatformCall, ...]:
        return tuple(call for call in self.platform_calls if call.failed)

    def trimmed(self, limit: int) -> Exchange:
        """This exchange with both bodies cut to ``limit`` bytes (what is kept for reports:
        a run holds a bounded prefix of every body, not every body)."""
        if len(self.body) <= limit and len(self.request.body) <= limit:
            return self
        request = self.request
        if len(request.body) > limit:
            request = request.with_body(request.body[:limit])
        return dataclasses.replace(self, request=request, body=self.body[:limit],
                                   truncated=self.truncated or len(self.body) > limit)

    @property
    def answered(self) -> bool:
        return self.status is not None and self.error is None

    def status_class(self) -> str | None:
        return None if self.status is None else f"{self.status // 100}xx"

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def _describe(exc: requests.RequestException) -> tuple[str, str]:
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, requests.exceptions.SSLError):
        if "certificate" in lowered:
            reason = "certificate verify failed"
        elif "wrong version number" in lowered or "record layer failure" in lowered:
            reason = "the target does not speak TLS: is it plain http://?"
        else:
            reason = "TLS handshake failed"
        return "tls", f"TLS failure ({reason}); use --ca-bundle PATH or --insecure"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "closed", "connection closed in the middle of the answer"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout", "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "read timed out" in lowered:  # the body stopped coming (requests wraps it so)
            return "timeout", "the answer's body stopped coming (timed out)"
        if "refused" in lowered:
            return "unreachable", "connection refused"
        if "name or service not known" in lowered or "nodename" in lowered or (
            "failed to resolve" in lowered
        ):
            return "unreachable", "host name does not resolve"
        # http.client's BadStatusLine & co. arrive wrapped as ('Connection aborted.', ...)
        if any(word in lowered for word in ("badstatusline", "unknownprotocol", "linetoolong",
                                            "got more than")):
            return "garbage", "the answer is not HTTP (garbage on the connection)"
        if "remotedisconnected" in lowered or "remote end closed" in lowered:
            return "closed", "connection closed without an answer"
        if "reset" in lowered or "aborted" in lowered:
            return "closed", "connection reset before an answer"
        return "unreachable", "cannot connect"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "unreachable", f"invalid URL ({text})"
    return "garbage", f"bad answer ({exc.__class__.__name__})"


class AppExchange(Protocol):
    """An in-process transport (:mod:`~hookproof.transport.inprocess`): the app answers."""

    def exchange(self, request: WireRequest, limit: float, max_answer: int) -> Exchange: ...

    def close(self) -> None: ...


DEFAULT_MAX_ANSWER = 1024 * 1024
"""Bytes of an answer read by default (``--hookproof-max-answer``); the rest is discarded."""
_CHUNK = 64 * 1024


class DeliveryClient:
    """Sends :class:`WireRequest` s over one keep-alive session and times each exchange.

    Every exchange is bounded whatever the target does: a total deadline (connect, headers and
    body together; a per-read timeout would let a server trickling a byte a second hold it for
    ever) and at most ``max_answer`` bytes of the answer read.
    """

    def __init__(self, *, timeout: float, verify: bool | str = True,
                 max_answer: int = DEFAULT_MAX_ANSWER, app: AppExchange | None = None) -> None:
        self.timeout = timeout
        self.verify = verify
        self.max_answer = max_answer
        self.app = app
        """An in-process app every request goes to instead of the network (``--target-app``)."""
        self._session = self._new_session()
        self._lock = threading.Lock()
        self._workers: _DaemonPool | None = None

    def _new_session(self, pool: int = 10) -> requests.Session:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool,
                                                max_retries=0)
        adapter.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.trust_env = False  # a proxy from the environment must not change what is sent
        session.cookies.set_policy(_NoCookies())
        return session

    def close(self) -> None:
        self._session.close()
        with self._lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown()
        if self.app is not None:
            self.app.close()

    def send(self, request: WireRequest, *, timeout: float | None = None,
             session: requests.Session | None = None) -> Exchange:
        """The exchange, finished within ``timeout`` seconds in all (the default: the
        client's): past it, the exchange is abandoned and reported as timed out."""
        limit = self.timeout if timeout is None else timeout
        started = time.perf_counter()
        pool = self._pool()
        future = pool.submit(lambda: self._exchange(request, limit, session))
        try:
            exchange: Exchange = future.result(limit)
            return exchange
        except concurrent.futures.TimeoutError:
            pass
        # still connecting, trickling headers or an endless body: given up, its connection
        # left to the abandoned worker (never reused), and a fresh one for the next delivery;
        # the worker is lost to its pool, so the next exchange gets a new pool
        with self._lock:
            if self._workers is pool:
                self._workers = None
        pool.shutdown()
        self._forget_connections(session)
        return Exchange(request, elapsed=time.perf_counter() - started,
                        error=f"no complete answer within {limit:g} s", error_kind="timeout")

    def _pool(self) -> _DaemonPool:
        """The worker threads exchanges run on (each under its deadline): kept, since
        starting a thread per exchange costs more than the exchange on loopback."""
        with self._lock:
            if self._workers is None:
                self._workers = _DaemonPool("hookproof-exchange")
            return self._workers

    def _read(self, response: requests.Response) -> tuple[bytes, bool]:
        """At most ``max_answer`` bytes of the body; whether there was more (discarded)."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            if size + len(chunk) > self.max_answer:
                chunks.append(chunk[: self.max_answer - size])
                response.close()  # the rest is never read: the connection goes with it
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False

    def _exchange(self, request: WireRequest, limit: float,
                  session: requests.Session | None) -> Exchange:
        if self.app is not None:
            return self.app.exchange(request, limit, self.max_answer)
        started = time.perf_counter()
        try:
            response = (session or self._session).request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body if request.method != "GET" else None,
                timeout=limit,
                allow_redirects=False,
                verify=self.verify,
                stream=True,
            )
            body, truncated = self._read(response)
        except requests.exceptions.Timeout:
            return Exchange(request, elapsed=time.perf_counter() - started,
                            error=f"no complete answer within {limit:g} s",
                            error_kind="timeout")
        except requests.RequestException as exc:
            kind, reason = _describe(exc)
            self._forget_connections(session)
            return Exchange(request, elapsed=time.perf_counter() - started, error=reason,
                            error_kind=kind)
        except OSError as exc:  # e.g. a CA bundle that cannot be read
            return Exchange(request, elapsed=time.perf_counter() - started,
                            error=f"cannot connect ({exc.strerror or exc})",
                            error_kind="unreachable")
        except Exception as exc:  # anything http.client or urllib3 let through: one line
            self._forget_connections(session)
            return Exchange(request, elapsed=time.perf_counter() - started,
                            error=f"bad answer ({exc.__class__.__name__})",
                            error_kind="garbage")
        elapsed = time.perf_counter() - started
        if response.status_code >= 500:
            # A crashed receiver often closes its kept-alive connection without saying so;
            # the next delivery must not be sent on it (and blamed for the reset).
            self._forget_connections(session)
        headers = {k: v for k, v in response.headers.items()}
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "?")[:200]
            return Exchange(request, response.status_code, headers, body, elapsed,
                            error=f"redirected ({response.status_code} to {location}); "
                            "platforms do not follow redirects: point at the final URL",
                            error_kind="redirect")
        return Exchange(request, response.status_code, headers, body, elapsed,
                        truncated=truncated)

    def _forget_connections(self, session: requests.Session | None) -> None:
        if self.app is not None:
            return
        for adapter in (session or self._session).adapters.values():
            if isinstance(adapter, requests.adapters.HTTPAdapter):
                adapter.poolmanager.clear()

    def send_together(self, requests_: Sequence[WireRequest]) -> list[Exchange]:
        """Send every request at the same moment from its own thread (own connection)."""
        barrier = threading.Barrier(len(requests_))
        results: list[Exchange | None] = [None] * len(requests_)
        sessions = [self._new_session(pool=1) for _ in requests_]

        def worker(index: int) -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=10)
            results[index] = self.send(requests_[index], session=sessions[index])

        threads = [threading.Thread(target=worker, args=(i,), daemon=True)
                   for i in range(len(requests_))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for session in sessions:
            session.close()
        return [r for r in results if r is not None]
