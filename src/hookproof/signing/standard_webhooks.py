"""Standard Webhooks: ``webhook-signature: v1,<base64>``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import ClassVar

from hookproof.signing.base import Capabilities, Scheme, Verification, Window, reject
from hookproof.signing.primitives import UNIX_SECONDS, hmac_digest, same
from hookproof.transport.wire import WireRequest, header, required_header


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (prefix optional, unpadded base64 accepted)."""
    text = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a Standard Webhooks secret may not be empty")
    return key


def standard_webhooks_signing_string(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """``"{webhook-id}.{webhook-timestamp}.{raw body}"``."""
    return f"{msg_id}.{timestamp}.".encode() + body


def standard_webhooks_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Base64 ``v1`` signature (without the ``v1,`` prefix)."""
    message = standard_webhooks_signing_string(msg_id, timestamp, body)
    digest = hmac_digest(standard_webhooks_key(secret), message, "sha256")
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class StandardWebhooksScheme(Scheme):
    """``webhook-signature: v1,<base64>`` over ``webhook-id``, ``webhook-timestamp`` and the body.
    Documented window: 300 s both ways."""

    header: str = "webhook-signature"
    id_header: str = "webhook-id"
    timestamp_header: str = "webhook-timestamp"
    name: ClassVar[str] = "standard-webhooks"
    CAPABILITIES: ClassVar[Capabilities] = Capabilities(
        timestamped=True, tolerance=300, future_tolerance=300)

    def _content(self, request: WireRequest, url: str, now: int) -> bytes:
        msg_id = required_header(request, self.id_header)
        return standard_webhooks_signing_string(msg_id, now, request.body)

    def _headers(self, secret: str, content: bytes, now: int) -> dict[str, str]:
        mac = hmac_digest(standard_webhooks_key(secret), content, "sha256")
        return {self.timestamp_header: str(now),
                self.header: "v1," + base64.b64encode(mac).decode("ascii")}

    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verification:
        msg_id = header(request, self.id_header)
        if not msg_id:
            return reject("missing", f"no {self.id_header} header")
        stamp = header(request, self.timestamp_header)
        if not stamp:
            return reject("missing", f"no {self.timestamp_header} header")
        received = header(request, self.header)
        if not received:
            return reject("missing", f"no {self.header} header")
        if not UNIX_SECONDS.fullmatch(stamp):
            return reject("malformed",
                           f"{self.timestamp_header}={stamp[:20]!r} is not unix seconds")
        entries = [entry.partition(",") for entry in received.split(" ") if entry]
        versioned = [(version, value) for version, comma, value in entries if comma]
        if not versioned:
            return reject("malformed", f"{self.header} has no <version>,<signature> entry")
        timestamp = int(stamp)
        expected = standard_webhooks_signature(secret, msg_id, timestamp, request.body)
        matched = False
        for version, value in versioned:
            if version == "v1":  # unknown versions (v1a, v2, ...) are skipped
                matched = same(value, expected) | matched
        if not matched:
            return reject("mismatch", "no v1 signature matches")
        return window.check(timestamp, now)
