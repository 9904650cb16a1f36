"""Operator's ``X-Signature`` over URL, idempotency key, timestamp and body."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import ClassVar, Final

from hookproof.signing.base import (
    _HEX64,
    _UNIX_SECONDS,
    Capabilities,
    Scheme,
    Verdict,
    Window,
    _reject,
    _same,
    url_without_query,
)
from hookproof.transport.wire import WireRequest, header, required_header


def operator_signing_string(url: str, idempotency_key: str, timestamp: int, body: bytes) -> bytes:
    """``"{url}:{X-Idempotency-Key}:{X-Timestamp}:{raw body}"`` with ``url`` used as given."""
    return f"{url}:{idempotency_key}:{timestamp}:".encode() + body


def operator_signature(
    secret: str, url: str, idempotency_key: str, timestamp: int, body: bytes
) -> str:
    """``X-Signature``: lower-case hex HMAC-SHA256 keyed with the UTF-8 signing key.

    ``url`` is signed as given; the scheme passes it through :func:`url_without_query` first.
    """
    message = operator_signing_string(url, idempotency_key, timestamp, body)
    return hmac.new(secret.encode("utf-8"), message, "sha256").hexdigest()


_CAPABILITIES: Final = Capabilities(signs_url=True, timestamped=True, tolerance=30,
                                    future_tolerance=30)


@dataclass(frozen=True)
class OperatorScheme(Scheme):
    """``X-Signature`` over URL (no query), idempotency key, ``X-Timestamp`` and body.
    Documented window: 30 s both ways."""

    header: str = "X-Signature"
    timestamp_header: str = "X-Timestamp"
    idempotency_header: str = "X-Idempotency-Key"
    name: ClassVar[str] = "operator"

    @property
    def capabilities(self) -> Capabilities:
        return _CAPABILITIES

    def _content(self, request: WireRequest, url: str, now: int) -> bytes:
        key = required_header(request, self.idempotency_header)
        return operator_signing_string(url_without_query(url), key, now, request.body)

    def _signed(self, request: WireRequest, secret: str, url: str, now: int) -> WireRequest:
        # sets X-Timestamp to now and X-Signature; needs X-Idempotency-Key
        key = required_header(request, self.idempotency_header)
        value = operator_signature(secret, url_without_query(url), key, now, request.body)
        return request.with_headers({self.timestamp_header: str(now), self.header: value})

    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verdict:
        received = header(request, self.header)
        if received is None:
            return _reject("missing", f"no {self.header} header")
        stamp = header(request, self.timestamp_header)
        if stamp is None:
            return _reject("missing", f"no {self.timestamp_header} header")
        key = header(request, self.idempotency_header)
        if key is None:
            return _reject("missing", f"no {self.idempotency_header} header")
        if not _UNIX_SECONDS.fullmatch(stamp):
            return _reject("malformed",
                           f"{self.timestamp_header}={stamp[:20]!r} is not unix seconds")
        if not _HEX64.fullmatch(received):
            return _reject("malformed", f"{self.header} is not 64 hex digits")
        timestamp = int(stamp)
        expected = operator_signature(secret, url_without_query(url), key, timestamp, request.body)
        if not _same(received, expected):
            return _reject("mismatch", f"{self.header} does not match")
        return window.check(timestamp, now)
