"""What one delivery caused inside this process: the platform calls its handler made and the
tracebacks it raised or logged.

An in-process target runs the receiver's handler on hookproof's own threads (or its event
loop), so what the handler does while answering can be seen and told apart per delivery: a
:class:`DeliveryScope` is set in a context variable around the call, and the platform stub and
the log capture add to whichever scope is current (a context variable follows the handler into
the tasks and worker threads its framework starts for it).
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import threading
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_SID_SEGMENT = re.compile(r"/[A-Z]{2}[0-9a-fA-F]{32}(?=/|$)")
_OTHER_ID = re.compile(r"/(?![A-Za-z]+(?:/|$))(?!\{sid\})(?!v\d+(?:/|$))[^/]+(?=/|$)")


@dataclass(frozen=True)
class PlatformCall:
    """One HTTP call the receiver made to the platform (or elsewhere) while handling a
    delivery."""

    method: str
    url: str
    status: int | None = None
    error: str | None = None
    """Why there is no answer: blocked (not the platform's API), connection refused..."""
    stubbed: bool = False
    """Answered by hookproof's platform stub, not by the network."""

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 400

    def describe(self) -> str:
        parts = urlsplit(self.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        outcome = (f"HTTP {self.status}" if self.status is not None else
                   f"failed: {self.error or 'no answer'}")
        source = " (platform stub)" if self.stubbed else ""
        return f"{self.method} {parts.netloc}{path} -> {outcome}{source}"

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "status": self.status,
                "error": self.error, "stubbed": self.stubbed}

    def route(self) -> tuple[str, str]:
        """(``GET host/v1/Conversations/{sid}/Participants/{sid}``, ``HTTP 200 (platform
        stub)``): the call with its SIDs set aside, and its outcome; what a run counts."""
        parts = urlsplit(self.url)
        path = _OTHER_ID.sub("/{id}", _SID_SEGMENT.sub("/{sid}", parts.path))
        outcome = self.describe().rpartition(" -> ")[2]
        return f"{self.method} {parts.netloc}{path}", outcome


@dataclass
class DeliveryScope:
    """What the handler of one delivery did: its platform calls, its tracebacks."""

    fields: dict[str, str] = field(default_factory=dict)
    """The delivery's top-level fields (form parameters or JSON keys, as text): what the
    platform stub answers agree with (the same SIDs)."""
    calls: list[PlatformCall] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_call(self, call: PlatformCall) -> None:
        with self._lock:
            self.calls.append(call)

    def add_trace(self, text: str) -> None:
        with self._lock:
            if text not in self.traces:
                self.traces.append(text)


current_scope: contextvars.ContextVar[DeliveryScope | None] = contextvars.ContextVar(
    "hookproof_delivery_scope", default=None)


@contextmanager
def entered(scope: DeliveryScope) -> Iterator[DeliveryScope]:
    token = current_scope.set(scope)
    try:
        yield scope
    finally:
        current_scope.reset(token)


_OUR_FRAMES = ("/hookproof/", "/httpx/", "/asgi_lifespan/", "/asyncio/", "/concurrent/",
               "/threading.py")


_LIBRARY_FRAMES = ("/site-packages/", "/dist-packages/")
# the package root: hookproof's own frames, whichever layer they are in
_HOOKPROOF = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def app_traceback(exc: BaseException) -> str:
    """The exception as the receiver's own traceback: hookproof's and the in-process
    transport's frames, through which the handler was called, are left out, and each run of
    a framework's frames (Starlette's middleware stack, say) is one line, so that the
    receiver's own frames stand out."""
    tb: types.TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_next is not None and any(
            part in tb.tb_frame.f_code.co_filename for part in _OUR_FRAMES):
        tb = tb.tb_next
    summary = traceback.extract_tb(tb)
    lines = ["Traceback (most recent call last):\n"]
    run: list[traceback.FrameSummary] = []

    def flush(last: bool) -> None:
        keep = run[-1:] if last else []  # the frame that raised stays, library or not
        hidden = run[: len(run) - len(keep)]
        if len(hidden) > 2:
            packages = sorted({_package(frame.filename) for frame in hidden})
            lines.append(f"  … {len(hidden)} frames in {', '.join(packages)} …\n")
        else:
            lines.extend(traceback.format_list(hidden))
        lines.extend(traceback.format_list(keep))
        run.clear()

    for frame in summary:
        if frame.filename.startswith(_HOOKPROOF):
            continue  # the platform stub's recorder, through which the handler's call went
        if any(part in frame.filename for part in _LIBRARY_FRAMES):
            run.append(frame)
            continue
        flush(last=False)
        lines.extend(traceback.format_list([frame]))
    flush(last=True)
    lines.extend(traceback.format_exception_only(type(exc), exc))
    return "".join(lines).rstrip()


def _package(filename: str) -> str:
    for marker in _LIBRARY_FRAMES:
        if marker in filename:
            return filename.split(marker, 1)[1].split("/", 1)[0].removesuffix(".py")
    return filename


class TraceCapture(logging.Handler):
    """Keeps, for the delivery being handled, every log record that carries an exception
    (Flask's and Django's "Exception on /path" and the like): the traceback a framework
    turned into a 500 answer."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        scope = current_scope.get()
        if scope is None or not record.exc_info or record.exc_info[1] is None:
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in the app's log call is not ours to fix
            message = str(record.msg)
        scope.add_trace(f"{message}\n{app_traceback(record.exc_info[1])}")


_capture = TraceCapture()
_capture_users = 0
_capture_lock = threading.Lock()


@contextmanager
def capturing_traces() -> Iterator[None]:
    """Install the log capture on the root logger for as long as an in-process app is
    served (nested uses share one handler)."""
    global _capture_users
    with _capture_lock:
        if _capture_users == 0:
            logging.getLogger().addHandler(_capture)
        _capture_users += 1
    try:
        yield
    finally:
        with _capture_lock:
            _capture_users -= 1
            if _capture_users == 0:
                logging.getLogger().removeHandler(_capture)
