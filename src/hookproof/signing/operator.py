"""Operator's ``X-Signature`` over URL, idempotency key, timestamp and body."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import ClassVar

from hookproof.signing.base import Capabilities, Scheme, Verification, Window, reject
from hookproof.signing.primitives import HEX64, UNIX_SECONDS, hmac_digest, same, url_without_query
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


@dataclass(frozen=True)
class OperatorScheme(Scheme):
    """``X-Signature`` over URL (no query), idempotency key, ``X-Timestamp`` and body.
    Documented window: 30 s both ways."""

    header: str = "X-Signature"
    timestamp_header: str = "X-Timestamp"
    idempotency_header: str = "X-Idempotency-Key"
    name: ClassVar[str] = "operator"
    CAPABILITIES: ClassVar[Capabilities] = Capabilities(
        signs_url=True, timestamped=True, tolerance=30, future_tolerance=30)

    def _content(self, request: WireRequest, url: str, now: int) -> bytes:
        key = required_header(request, self.idempotency_header)
        return operator_signing_string(url_without_query(url), key, now, request.body)

    def _headers(self, secret: str, content: bytes, now: int) -> dict[str, str]:
        mac = hmac_digest(secret.encode("utf-8"), content, "sha256").hex()
        return {self.timestamp_header: str(now), self.header: mac}

    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verification:
        received = header(request, self.header)
        if received is None:
            return reject("missing", f"no {self.header} header")
        stamp = header(request, self.timestamp_header)
        if stamp is None:
            return reject("missing", f"no {self.timestamp_header} header")
        key = header(request, self.idempotency_header)
        if key is None:
            return reject("missing", f"no {self.idempotency_header} header")
        if not UNIX_SECONDS.fullmatch(stamp):
            return reject("malformed",
                           f"{self.timestamp_header}={stamp[:20]!r} is not unix seconds")
        if not HEX64.fullmatch(received):
            return reject("malformed", f"{self.header} is not 64 hex digits")
        timestamp = int(stamp)
        expected = operator_signature(secret, url_without_query(url), key, timestamp, request.body)
        if not same(received, expected):
            return reject("mismatch", f"{self.header} does not match")
        return window.check(timestamp, now)
