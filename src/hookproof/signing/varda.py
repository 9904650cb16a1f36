"""Varda's ``X-Varda-Signature: t=<unix>,v1=<hex>``."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import ClassVar

from hookproof.signing.base import Capabilities, Scheme, Verification, Window, reject
from hookproof.signing.primitives import UNIX_SECONDS, hmac_digest, same
from hookproof.transport.wire import WireRequest, header


def varda_signing_string(timestamp: int, body: bytes) -> bytes:
    """``"{t}.{raw body}"``."""
    return f"{timestamp}.".encode("ascii") + body


def varda_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1``: lower-case hex HMAC-SHA256 keyed with the UTF-8 secret over ``"{t}.{body}"``."""
    message = varda_signing_string(timestamp, body)
    return hmac.new(secret.encode("utf-8"), message, "sha256").hexdigest()


def _parse_kv_header(value: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for part in value.split(","):
        key, eq, item = part.partition("=")
        if eq:
            pairs.append((key.strip(), item))  # the value as sent: " <sig>" is no signature
    return pairs


@dataclass(frozen=True)
class VardaScheme(Scheme):
    """``X-Varda-Signature: t=<unix>,v1=<hex>``. Documented window: 300 s both ways."""

    header: str = "X-Varda-Signature"
    name: ClassVar[str] = "varda"
    CAPABILITIES: ClassVar[Capabilities] = Capabilities(
        timestamped=True, tolerance=300, future_tolerance=300)

    def _content(self, request: WireRequest, url: str, now: int) -> bytes:
        return varda_signing_string(now, request.body)

    def _headers(self, secret: str, content: bytes, now: int) -> dict[str, str]:
        mac = hmac_digest(secret.encode("utf-8"), content, "sha256").hex()
        return {self.header: f"t={now},v1={mac}"}

    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verification:
        received = header(request, self.header)
        if received is None:
            return reject("missing", f"no {self.header} header")
        pairs = _parse_kv_header(received)
        stamps = {value for key, value in pairs if key == "t"}
        candidates = [value for key, value in pairs if key == "v1"]
        if len(stamps) != 1 or not candidates:
            return reject("malformed", "need exactly one t and at least one v1")
        stamp = stamps.pop()
        if not UNIX_SECONDS.fullmatch(stamp):
            return reject("malformed", f"t={stamp[:20]!r} is not unix seconds")
        timestamp = int(stamp)
        expected = varda_signature(secret, timestamp, request.body)
        matched = False
        for candidate in candidates:
            matched = same(candidate, expected) | matched
        if not matched:
            return reject("mismatch", "no v1 matches")
        return window.check(timestamp, now)
