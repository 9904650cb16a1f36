"""What every scheme is: the :class:`Scheme` base class with its :class:`Capabilities`, the
replay :class:`Window`, and the :class:`Verification` a request gets (ok, or why not). The
pieces schemes are built from are in :mod:`~hookproof.signing.primitives`; the request is
:mod:`hookproof.transport.wire`."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

from hookproof.transport.wire import WireRequest

Reason = Literal["ok", "missing", "malformed", "mismatch", "body-hash", "stale", "future"]

@dataclass(frozen=True)
class Verification:
    """The outcome of verifying one request. Truthy only when ``ok``."""

    ok: bool
    reason: Reason
    detail: str = field(default="", compare=False)

    def __bool__(self) -> bool:
        return self.ok


OK: Final = Verification(True, "ok")
"""The one passing verdict."""


def reject(reason: Reason, detail: str = "") -> Verification:
    """A failing verdict for ``reason``."""
    return Verification(False, reason, detail)


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

    def check(self, timestamp: int, now: int) -> Verification:
        if self.past is not None and now - timestamp > self.past:
            return reject("stale", f"timestamp {timestamp} is {now - timestamp} s old")
        if self.future is not None and timestamp - now > self.future:
            return reject("future", f"timestamp {timestamp} is {timestamp - now} s ahead")
        return OK


class Scheme(abc.ABC):
    """What every signing scheme offers: ``sign``, ``signed_content`` and ``verify`` with one
    signature each, and its :class:`Capabilities`.

    A scheme implements small steps over the URL it signs (``signing_url`` / ``public_url``
    when given, else the request's own): :meth:`_content` (the bytes signed), :meth:`_headers`
    (what their MAC puts in the request) and :meth:`_check` (verification).
    """

    name: ClassVar[str]
    header: str
    """The signature header name."""

    CAPABILITIES: ClassVar[Capabilities] = Capabilities()
    """What the scheme signs, when that is the same for every instance."""

    @property
    def capabilities(self) -> Capabilities:
        """What this scheme signs (a scheme whose settings change it computes it)."""
        return self.CAPABILITIES

    def _now(self, now: int | None) -> int:
        if now is None:
            if self.capabilities.timestamped:
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
               future_tolerance: int | None = None) -> Verification:
        """Whether ``request`` is signed with ``secret`` (over ``public_url``, the URL the
        platform signed, when given), with its timestamp inside the window."""
        url = request.url if public_url is None else public_url
        return self._check(request, secret, url, self._now(now),
                           Window(tolerance, future_tolerance))

    @abc.abstractmethod
    def _content(self, request: WireRequest, url: str, now: int) -> bytes: ...

    def _signed(self, request: WireRequest, secret: str, url: str, now: int) -> WireRequest:
        # the MAC is always over _content: what signed_content shows is what is signed
        return request.with_headers(self._headers(secret, self._content(request, url, now), now))

    def _headers(self, secret: str, content: bytes, now: int) -> dict[str, str]:
        """The headers the MAC of ``content`` (and ``now``) gives. A scheme whose signing changes
        more than headers (Twilio's ``bodySHA256`` in the URL) overrides :meth:`_signed`."""
        raise NotImplementedError(f"{type(self).__name__} gives no _headers")

    @abc.abstractmethod
    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verification: ...
