"""What every scheme shares: the verdict, the Scheme protocol, and the small pieces (HMAC,
constant-time comparison, freshness, URL forms). The request itself is
:mod:`hookproof.transport.wire`."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from hookproof.transport.wire import WireRequest

Reason = Literal["ok", "missing", "malformed", "mismatch", "body-hash", "stale", "future"]

#: Header Twilio adds to requests signed with a SharedKey.
SETTINGS_HEADER: Final = "X-Twilio-Webhooks-Signature-Settings"

_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_DIGITS: Final = re.compile(r"[0-9]+", re.ASCII)
_UNIX_SECONDS: Final = re.compile(r"[0-9]{1,12}", re.ASCII)
"""A Unix timestamp: bounded, so that a hostile 5,000-digit value is refused before int()."""
_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)




@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one request. Truthy only when ``ok``."""

    ok: bool
    reason: Reason
    detail: str = field(default="", compare=False)

    def __bool__(self) -> bool:
        return self.ok


_OK: Final = Verdict(True, "ok")


def _reject(reason: Reason, detail: str = "") -> Verdict:
    return Verdict(False, reason, detail)


class Scheme(Protocol):
    """What every signing scheme offers."""

    @property
    def name(self) -> str: ...

    @property
    def header(self) -> str:
        """The signature header name."""
        ...

    @property
    def timestamped(self) -> bool:
        """Whether a timestamp is signed (the scheme has a replay window)."""
        ...

    @property
    def signs_url(self) -> bool:
        """Whether the URL is part of what is signed (a tampered URL must be refused)."""
        ...

    @property
    def port_variants(self) -> bool:
        """Whether the platform may sign the URL with or without its default port (Twilio),
        so a receiver must accept both."""
        ...

    @property
    def body_hash(self) -> bool:
        """Whether a hash of the body travels in the signed URL (Twilio's ``bodySHA256``)."""
        ...

    def signed_content(
        self, request: WireRequest, *, now: int, signing_url: str | None = None
    ) -> bytes:
        """The exact bytes :meth:`sign` feeds to the MAC for this request."""
        ...

    def sign(
        self, request: WireRequest, secret: str, *, now: int, signing_url: str | None = None
    ) -> WireRequest: ...

    def verify(
        self,
        request: WireRequest,
        secret: str,
        *,
        now: int,
        public_url: str | None = None,
        tolerance: int | None = None,
        future_tolerance: int | None = None,
    ) -> Verdict: ...




def sha256_hex(body: bytes) -> str:
    """Lower-case hex SHA-256 of ``body``."""
    return hashlib.sha256(body).hexdigest()


def _hmac(key: bytes, message: bytes, digest: str) -> bytes:
    return hmac.new(key, message, digest).digest()


def _same(received: str, expected: str) -> bool:
    """Constant-time equality of two signature strings (any text is accepted as received)."""
    return hmac.compare_digest(received.encode("utf-8", "surrogatepass"), expected.encode("ascii"))


def _strip_fragment(url: str) -> str:
    return url.partition("#")[0]


def url_without_query(url: str) -> str:
    """``url`` with its query string (and any fragment) removed, the rest untouched."""
    return _strip_fragment(url).partition("?")[0]


def _freshness(
    timestamp: int, now: int, tolerance: int | None, future_tolerance: int | None
) -> Verdict:
    if tolerance is not None and now - timestamp > tolerance:
        return _reject("stale", f"timestamp {timestamp} is {now - timestamp} s old")
    if future_tolerance is not None and timestamp - now > future_tolerance:
        return _reject("future", f"timestamp {timestamp} is {timestamp - now} s ahead")
    return _OK


def _split_netloc(url: str) -> tuple[str, str, str] | None:
    """Split ``url`` into (``scheme://``, netloc, rest) without re-serialising anything."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            end = min(end, index)
    return scheme + sep, rest[:end], rest[end:]


def default_port_variants(url: str) -> tuple[str, ...]:
    """``url`` itself, then the same URL with the default port toggled.

    ``https://host/p`` gives ``("https://host/p", "https://host:443/p")`` and
    ``http://host:80/p`` gives ``("http://host:80/p", "http://host/p")``. A URL with a non-default
    port, or of another scheme, gives only itself. Nothing else in the URL is touched.
    """
    parts = _split_netloc(url)
    if parts is None:
        return (url,)
    prefix, netloc, rest = parts
    default = _DEFAULT_PORTS.get(prefix[:-3].lower())
    if default is None:
        return (url,)
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        close = hostport.find("]")
        if close == -1:
            return (url,)
        host, after = hostport[: close + 1], hostport[close + 1 :]
        port = after[1:] if after.startswith(":") else None
        if after and port is None:
            return (url,)
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
    if port is None:
        new_hostport = f"{host}:{default}"
    elif _DIGITS.fullmatch(port) and int(port) == default:
        new_hostport = host
    else:
        return (url,)
    return (url, f"{prefix}{userinfo}{at}{new_hostport}{rest}")
