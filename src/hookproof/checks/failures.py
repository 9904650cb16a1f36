"""Check failures a person can act on, carried as data and rendered as text.

A failure says what was sent (the signature shown, the secret never), what came back, what
was expected, where in the answer and in the contract it went wrong, and a ``curl`` line that
sends the same bytes again.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from hookproof.scrub import scrub, scrub_data
from hookproof.transport.client import Exchange

Severity = Literal["required", "recommended"]
HEAD = 600
KEPT_BODY = 64 * 1024
"""Bytes of each body a failure keeps (what the reports show is :data:`HEAD` of it)."""


def _head(body: bytes, limit: int = HEAD) -> str:
    if not body:
        return "(empty)"
    text = body[:limit].decode("utf-8", "replace")
    more = f"… ({len(body)} bytes)" if len(body) > limit else ""
    return text + more


def curl_line(exchange: Exchange, secret_env: str) -> str:
    """A ``curl`` command sending the same request again.

    It carries the signature that was computed, never the secret. A timestamped signature
    goes stale: re-sign with ``hookproof send`` (the secret read from ``$secret_env``).
    """
    request = exchange.request
    parts = ["curl", "-sS", "-i", "-X", request.method]
    for name, value in request.headers.items():
        parts += ["-H", f"{name}: {value}"]
    if request.body:
        parts += ["--data-binary", request.body.decode("utf-8", "replace")]
    parts.append(request.url)
    return scrub(" ".join(shlex.quote(p) for p in parts))


SERVED_AT = "http://127.0.0.1:8000"
"""Where an in-process app's reproduction expects it served (``flask run``'s and uvicorn's
address, with port 8000)."""
ALTERED_SIGNATURE = frozenset({
    "signature.missing_rejected", "signature.tampered_body_rejected",
    "signature.tampered_url_rejected", "signature.body_hash_mismatch_rejected",
    "signature.malformed_header_rejected", "signature.stale_timestamp_rejected",
    "signature.future_timestamp_rejected"})
"""Checks whose delivery's signature was made wrong on purpose: re-signing would lose it."""


def send_line(exchange: Exchange, provider: str, event: str, secret_env: str, *,
              bad_signature: bool = False) -> str:
    """For an in-process app: the delivery's body to a file and ``hookproof send`` signing it
    anew for the app served at :data:`SERVED_AT` (nothing serves the in-process URL)."""
    request = exchange.request
    parts = urlsplit(request.url)
    body = parts.query if request.method == "GET" else request.body.decode("utf-8", "replace")
    command = ["hookproof", "send", event, "--provider", provider, "--target-url",
               SERVED_AT + (parts.path or "/"), "--secret-env", secret_env, "--data",
               "delivery.body", *(["--method", "GET"] if request.method == "GET" else []),
               *(["--bad-signature"] if bad_signature else [])]
    return scrub(f"printf %s {shlex.quote(body)} > delivery.body && "
                 + " ".join(shlex.quote(p) for p in command))


def served_curl_line(exchange: Exchange, secret_env: str) -> str:
    """The same bytes, signature included, to an in-process app served at
    :data:`SERVED_AT`."""
    parts = urlsplit(exchange.request.url)
    moved = SERVED_AT + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return curl_line(dataclasses.replace(exchange, request=exchange.request.with_url(moved)),
                     secret_env)


def render_exchange(exchange: Exchange) -> list[str]:
    request = exchange.request
    lines = [f"sent:     {request.method} {request.url}"]
    lines += [f"          {name}: {value}" for name, value in request.headers.items()]
    lines.append(f"          body: {_head(request.body)}")
    if exchange.error:
        lines.append(f"got:      no usable answer after {exchange.elapsed:.3f} s: {exchange.error}")
        return [scrub(line) for line in lines + platform_lines(exchange)]
    lines.append(f"got:      HTTP {exchange.status} in {exchange.elapsed * 1000:.0f} ms")
    for name in ("Content-Type", "Location", "Retry-After"):
        for key, value in exchange.headers.items():
            if key.lower() == name.lower():
                lines.append(f"          {key}: {value}")
    lines.append(f"          body: {_head(exchange.body)}")
    if exchange.truncated:
        lines.append("          (the answer was longer: only its start was read, the rest "
                     "discarded)")
    lines += platform_lines(exchange)
    return [scrub(line) for line in lines]


def platform_lines(exchange: Exchange) -> list[str]:
    """The handler's calls to the platform (in-process targets), one line each."""
    if not exchange.platform_calls:
        return []
    lines = ["while answering, the receiver called:"]
    lines += [f"          {call.describe()}" for call in exchange.platform_calls[:20]]
    if len(exchange.platform_calls) > 20:
        lines.append(f"          … and {len(exchange.platform_calls) - 20} more")
    return lines


@dataclass(frozen=True)
class Detail:
    """One structured finding of a failed check."""

    title: str
    expected: str
    got: str
    json_path: str | None = None
    schema_path: str | None = None


@dataclass(eq=False, kw_only=True, repr=False)
class CheckFailure(AssertionError):
    """A check of the suite failed; carries everything needed to report and reproduce it."""

    check: str
    provider: str
    event: str | None
    severity: Severity
    title: str
    expected: str
    got: str
    exchanges: Sequence[Exchange] = ()
    """What was sent and answered; a bounded prefix of each body is kept (a run keeps its
    failures until the end)."""
    json_path: str | None = None
    schema_path: str | None = None
    details: Sequence[Detail] = ()
    secret_env: str = "HOOKPROOF_SECRET"
    """The variable the reproduction line reads the secret from (never the secret)."""
    hint: str | None = None
    crash: bool = False
    """The receiver stopped answering on this delivery (crashed or closed the connection)."""
    receiver_output: str | None = None
    """What a managed receiver printed from this delivery on (its stack trace), or the
    traceback an in-process app raised or logged."""
    exit_status: str | None = None

    def __post_init__(self) -> None:
        self.exchanges = tuple(e.trimmed(KEPT_BODY) for e in self.exchanges)
        self.details = tuple(self.details)
        if self.receiver_output is None and self.exchanges and self.exchanges[-1].trace:
            self.receiver_output = self.exchanges[-1].trace  # an in-process app's traceback
        super().__init__(self.render())

    def __str__(self) -> str:
        return self.render()

    def evolve(self, **changes: Any) -> CheckFailure:
        """A copy with some fields changed (e.g. another severity, a richer title)."""
        return dataclasses.replace(self, **changes)

    @property
    def output_label(self) -> str:
        in_process = bool(self.exchanges and (self.exchanges[-1].trace
                                              or self.exchanges[-1].error_kind == "raised"))
        return ("the receiver's traceback (in process)" if in_process else
                "the receiver's output from this delivery on")

    @property
    def reproduction(self) -> str | None:
        if not self.exchanges:
            return None
        last = self.exchanges[-1]
        if not last.in_process or not self.event:
            return curl_line(last, self.secret_env)
        if self.check in ALTERED_SIGNATURE:
            return served_curl_line(last, self.secret_env)
        return send_line(last, self.provider, self.event, self.secret_env,
                         bad_signature=self.check == "signature.wrong_secret_rejected")

    @property
    def reproduction_label(self) -> str:
        if not (self.exchanges and self.exchanges[-1].in_process and self.event):
            return f"reproduce (signature computed with ${self.secret_env}, not shown):"
        if self.check in ALTERED_SIGNATURE:
            return (f"reproduce, with the app served at {SERVED_AT} (the same bytes, its "
                    "signature as sent):")
        return (f"reproduce, with the app served at {SERVED_AT} (signed anew with "
                f"${self.secret_env}):")

    def finding_lines(self) -> list[str]:
        """What was expected, what came back, where, and the hint: one line each."""
        lines = [f"expected: {self.expected}", f"got:      {self.got}"]
        if self.json_path:
            lines.append(f"at:       {self.json_path}"
                         + (f"  (contract: {self.schema_path})" if self.schema_path else ""))
        for detail in self.details:
            path = f" at {detail.json_path}" if detail.json_path else ""
            if detail.expected:
                lines.append(f"  - {detail.title}{path}: expected {detail.expected}, "
                             f"got {detail.got}")
            else:
                lines.append(f"  - {detail.title}{path}: {detail.got}")
        if self.hint:
            lines.append(f"hint:     {self.hint}")
        if self.exit_status:
            lines.append(f"receiver: {self.exit_status}")
        return lines

    def render(self) -> str:
        """The failure as text, with the signing secret hidden wherever it appears."""
        return scrub(self._render())

    def _render(self) -> str:
        where = f"{self.provider} {self.event}" if self.event else self.provider
        lines = [f"[{self.check}] {self.title} ({where}; {self.severity})"]
        lines.extend(self.finding_lines())
        if self.exchanges:
            lines.append("")
            lines.extend(render_exchange(self.exchanges[-1]))
            lines.append("")
            lines.append(self.reproduction_label)
            lines.append(f"  {self.reproduction}")
        if self.receiver_output:
            lines.append("")
            lines.append(self.output_label + ":")
            lines.extend(f"  | {line}" for line in self.receiver_output.splitlines())
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """The failure as data for the reports, with the signing secret hidden."""
        data = scrub_data(self._as_dict())
        assert isinstance(data, dict)
        return data

    def _as_dict(self) -> dict[str, object]:
        exchange = self.exchanges[-1] if self.exchanges else None
        return {
            "check": self.check,
            "provider": self.provider,
            "event": self.event,
            "severity": self.severity,
            "title": self.title,
            "expected": self.expected,
            "got": self.got,
            "json_path": self.json_path,
            "schema_path": self.schema_path,
            "details": [d.__dict__ for d in self.details],
            "hint": self.hint,
            "request": None if exchange is None else {
                "method": exchange.request.method,
                "url": exchange.request.url,
                "headers": dict(exchange.request.headers),
                "body_head": _head(exchange.request.body),
            },
            "response": None if exchange is None else {
                "status": exchange.status,
                "headers": dict(exchange.headers),
                "body_head": _head(exchange.body) if exchange.answered else None,
                "elapsed_ms": round(exchange.elapsed * 1000, 1),
                "error": exchange.error,
            },
            "reproduction": self.reproduction,
            "crash": self.crash,
            "receiver_output": self.receiver_output,
            "exit_status": self.exit_status,
            "platform_calls": [] if exchange is None else [
                call.as_dict() for call in exchange.platform_calls],
        }


@dataclass
class NotObserved(Exception):
    """Part of a check could not be observed (no effects probe): reported, never passed."""

    reason: str
    exchanges: Sequence[Exchange] = field(default_factory=tuple)

    def __str__(self) -> str:
        return self.reason


@dataclass
class NotApplicable(Exception):
    """A check cannot apply to this target as given (e.g. the signed URL carries a port):
    reported as skipped, with the reason, never as passed."""

    reason: str

    def __str__(self) -> str:
        return self.reason
