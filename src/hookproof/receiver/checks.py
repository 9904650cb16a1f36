"""The two gatekeeping parts: is the request from the platform, and is the payload well formed.

* A **verifier** decides whether a request is signed by the platform. The reference one uses
  :mod:`hookproof.signing` over the raw bytes and the URL the platform signed, and enforces
  the provider's replay window (both stale and future timestamps).
* A **validator** checks a decoded payload against the event's contract. Drift (unknown fields,
  unknown enum values) is reported apart from errors and must never cause a rejection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from hookproof.catalogue import Catalogue, Event, Provider
from hookproof.catalogue.validation import ValidationResult, engine_for
from hookproof.signing import Verification, WireRequest, scheme_for


class Verifier(Protocol):
    def __call__(
        self, provider: Provider, request: WireRequest, secret: str, *, now: int
    ) -> Verification:
        """Decide whether ``request`` (URL = the URL the platform signed) is authentic and
        fresh. ``Verification.reason`` is ``missing`` when there is no signature at all."""
        ...


class Validator(Protocol):
    def __call__(self, provider: Provider, event: Event, payload: Any) -> ValidationResult:
        """Check ``payload`` against the request contract of ``event``."""
        ...


class SignatureVerifier:
    """The platform's own signature scheme, over the raw body, with the replay window.

    The window is the provider's ``replay_window.seconds`` applied both ways (older than the
    window: ``stale``; further ahead than the window: ``future``). Providers with no signed
    timestamp (Twilio) have no window; they are protected by deduplication instead.
    """

    def __call__(
        self, provider: Provider, request: WireRequest, secret: str, *, now: int
    ) -> Verification:
        scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
        window = provider.replay_window.seconds if provider.replay_window else None
        return scheme.verify(request, secret, now=now, tolerance=window, future_tolerance=window)


class ContractValidator:
    """Validates against the catalogue's contracts (:mod:`hookproof.catalogue.validation`); the
    default catalogue is the bundled one."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue

    def __call__(self, provider: Provider, event: Event, payload: Any) -> ValidationResult:
        return engine_for(self.catalogue).validator(event.request).validate(payload)

    def warm(self, events: Iterable[Event]) -> None:
        """Compile the contracts of ``events`` now, so that no delivery waits for it."""
        engine = engine_for(self.catalogue)
        for event in events:
            engine.validator(event.request)
