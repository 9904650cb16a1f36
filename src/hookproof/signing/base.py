"""What every scheme shares: the verdict, the :class:`Scheme` base class with its
:class:`Capabilities` and replay :class:`Window`, and the small pieces (HMAC, constant-time
comparison, URL forms). The request itself is :mod:`hookproof.transport.wire`."""

from __future__ import annotations

import abc
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

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


@dataclass(frozen=True)
class Capabilities:
    """What a scheme signs. The signature checks send what these allow (a tampered URL only
    where the URL is signed, a stale timestamp only where one is signed...), so no check ever
    compares a scheme's name."""

    signs_url: bool = False
    """The URL is part of what is signed: a tampered URL must be refused."""
    port_variants: bool = False
    """The platform may sign the URL with or without its default port (Twilio), so a receiver
    must accept both."""
    body_hash: bool = False
    """A hash of the body travels in the signed URL (Twilio's ``bodySHA256``)."""
    timestamped: bool = False
    """A timestamp is signed: the scheme has a replay window."""
    tolerance: int | None = None
    """The documented replay window into the past, in seconds (None: no default)."""
    future_tolerance: int | None = None
    """The documented window into the future, in seconds."""


@dataclass(frozen=True)
class Window:
    """How old (``past``) or how far ahead (``future``) a signed timestamp may be, in seconds;
    None leaves that side unchecked."""

    past: int | None = None
    future: int | None = None

    def check(self, timestamp: int, now: int) -> Verdict:
        if self.past is not None and now - timestamp > self.past:
            return _reject("stale", f"timestamp {timestamp} is {now - timestamp} s old")
        if self.future is not None and timestamp - now > self.future:
            return _reject("future", f"timestamp {timestamp} is {timestamp - now} s ahead")
        return _OK


class Scheme(abc.ABC):
    """What every signing scheme offers: ``sign``, ``signed_content`` and ``verify`` with one
    signature each, and its :class:`Capabilities`.

    A scheme implements three small steps over the URL it signs (``signing_url`` /
    ``public_url`` when given, else the request's own): :meth:`_content`, :meth:`_signed` and
    :meth:`_check`.
    """

    name: ClassVar[str]
    header: str
    """The signature header name."""

    @property
    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    @property
    def signs_url(self) -> bool:
        return self.capabilities.signs_url

    @property
    def port_variants(self) -> bool:
        return self.capabilities.port_variants

    @property
    def body_hash(self) -> bool:
        return self.capabilities.body_hash

    @property
    def timestamped(self) -> bool:
        return self.capabilities.timestamped

    @property
    def default_tolerance(self) -> int | None:
        return self.capabilities.tolerance

    @property
    def default_future_tolerance(self) -> int | None:
        return self.capabilities.future_tolerance

    def _now(self, now: int | None) -> int:
        if now is None:
            if self.timestamped:
                raise TypeError(f"{self.name} signs a timestamp: give now=")
            return 0
        return now

    def signed_content(self, request: WireRequest, *, now: int | None = None,
                       signing_url: str | None = None) -> bytes:
        """The exact bytes :meth:`sign` feeds to the MAC for this request."""
        url = request.url if signing_url is None else signing_url
        return self._content(request, url, self._now(now))

    def sign(self, request: WireRequest, secret: str, *, now: int | None = None,
             signing_url: str | None = None) -> WireRequest:
        """``request`` with the scheme's headers set for timestamp ``now`` (and, Twilio JSON,
        ``bodySHA256`` in its URL), signed over ``signing_url`` when the URL is signed."""
        url = request.url if signing_url is None else signing_url
        return self._signed(request, secret, url, self._now(now))

    def verify(self, request: WireRequest, secret: str, *, now: int | None = None,
               public_url: str | None = None, tolerance: int | None = None,
               future_tolerance: int | None = None) -> Verdict:
        """Whether ``request`` is signed with ``secret`` (over ``public_url``, the URL the
        platform signed, when given), with its timestamp inside the window."""
        url = request.url if public_url is None else public_url
        return self._check(request, secret, url, self._now(now),
                           Window(tolerance, future_tolerance))

    @abc.abstractmethod
    def _content(self, request: WireRequest, url: str, now: int) -> bytes: ...

    @abc.abstractmethod
    def _signed(self, request: WireRequest, secret: str, url: str, now: int) -> WireRequest: ...

    @abc.abstractmethod
    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verdict: ...


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
