"""The receiver under test, as the checks see it: send, time, record, observe effects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from hookproof.builder import Delivery, DeliveryBuilder
from hookproof.catalogue import Event, Provider
from hookproof.delivery import DeliveryClient, Exchange
from hookproof.settings import Settings
from hookproof.validation import ValidationEngine

# The platforms' budgets are upper limits; the client waits this much longer so that a slow
# answer is measured (and failed by response.within_budget) rather than cut off.
GRACE_SECONDS = 2.0
FATAL_KINDS = ("unreachable", "tls", "redirect")
STOP_AFTER_CONSECUTIVE = 3
POLL_SECONDS = 0.05
SETTLE_SECONDS = 0.25


class TargetUnavailable(Exception):
    """The target cannot be tested at all (down, TLS, redirects, hangs): stop the run."""


EffectsHook = Callable[[str, str, str], "int | None"]


@dataclass
class EffectsProbe:
    """How many times the receiver processed the delivery with a given dedupe key.

    Either an HTTP endpoint (``--effects-url``: GET ``?key=...`` answering ``{"count": n}``)
    or the ``pytest_hookproof_effects`` hook a team implements in its conftest.
    """

    url: str | None = None
    hook: EffectsHook | None = None
    verify: bool | str = True

    @property
    def available(self) -> bool:
        return self.url is not None or self.hook is not None

    def settled_count(self, provider: str, event: str, key: str, wait: float) -> int | None:
        """The count once it has had up to ``wait`` seconds to appear.

        A receiver that answers first and processes later shows 0 for a moment: the probe is
        polled until it counts something or the deadline passes. Where it had to wait, it looks
        once more a little later, so that a late second effect is seen too.
        """
        deadline = time.monotonic() + wait
        count = self.count(provider, event, key)
        waited = False
        while count == 0 and time.monotonic() < deadline:
            waited = True
            time.sleep(POLL_SECONDS)
            count = self.count(provider, event, key)
        if waited and count:
            time.sleep(min(SETTLE_SECONDS, max(0.0, deadline - time.monotonic())))
            count = self.count(provider, event, key)
        return count

    def count(self, provider: str, event: str, key: str) -> int | None:
        if self.hook is not None:
            answer = self.hook(provider, event, key)
            if answer is not None:
                return int(answer)
        if self.url is None:
            return None
        try:
            response = requests.get(self.url, params={"key": key}, timeout=10, verify=self.verify)
            response.raise_for_status()
            document: Any = response.json()
            return int(document["count"])
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise TargetUnavailable(
                f"the effects probe {self.url} did not answer {{\"count\": n}} ({exc})"
            ) from None


@dataclass
class Target:
    """Session-wide resource: the provider, the builder, the client and what was exchanged."""

    provider: Provider
    settings: Settings
    builder: DeliveryBuilder
    client: DeliveryClient
    engine: ValidationEngine
    effects: EffectsProbe
    secret_env: str
    exchanges: list[tuple[str, str, Exchange]] = field(default_factory=list)
    record_path: str | None = None
    """Append every request sent to this JSONL file (bench/: replayed as the floor)."""
    _consecutive_failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _forged: dict[str, Exchange] = field(default_factory=dict)

    def budget(self, event: Event) -> float:
        """The time an answer may take: the platform's budget, or a tighter one asked for."""
        if self.settings.budget is not None:
            return min(self.settings.budget, event.budget)
        return event.budget

    def accepted_classes(self, event: Event) -> frozenset[str]:
        """Status classes that count as accepting ``event`` (overridable per event)."""
        override = (self.settings.expect or {}).get(event.name)
        if override:
            return override
        return frozenset({"2xx", "4xx"}) if event.rejectable else frozenset({"2xx"})

    def refusal_declared(self, event: Event) -> bool:
        """The team said this event is refused on purpose (``--expect EVENT=4xx``)."""
        return "4xx" in (self.settings.expect or {}).get(event.name, frozenset())

    def forged_answer(self, check: str, event: Event, forged: Callable[[], Delivery]) -> Exchange:
        """What the receiver answers a forged delivery of ``event`` (asked once per event):
        the refusal a genuine delivery's refusal is compared with."""
        with self._lock:
            known = self._forged.get(event.name)
        if known is None:
            known = self.send(check, forged())
            with self._lock:
                self._forged[event.name] = known
        return known

    def send(self, check: str, delivery: Delivery | Exchange) -> Exchange:
        request = delivery.request
        exchange = self.client.send(request, timeout=self._timeout(delivery))
        self._note(check, request_event(delivery), exchange)
        return exchange

    def send_together(self, check: str, deliveries: Sequence[Delivery]) -> list[Exchange]:
        exchanges = self.client.send_together([d.request for d in deliveries])
        for delivery, exchange in zip(deliveries, exchanges, strict=True):
            self._note(check, delivery.event.name, exchange)
        return exchanges

    def _timeout(self, delivery: Delivery | Exchange) -> float:
        event = delivery.event if isinstance(delivery, Delivery) else None
        budget = event.budget if event else self.provider.timeout_budget
        return budget + GRACE_SECONDS

    def _note(self, check: str, event: str, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append((check, event, exchange))
            if self.record_path:
                self._record(check, exchange)
            if exchange.error_kind in FATAL_KINDS:
                raise TargetUnavailable(
                    f"target {exchange.request.url} cannot be tested: {exchange.error}"
                )
            if exchange.error_kind in ("timeout", "protocol"):
                self._consecutive_failures += 1
                if self._consecutive_failures >= STOP_AFTER_CONSECUTIVE:
                    raise TargetUnavailable(
                        f"target {exchange.request.url} failed {STOP_AFTER_CONSECUTIVE} "
                        f"deliveries in a row ({exchange.error}); stopping"
                    )
            else:
                self._consecutive_failures = 0


    def _record(self, check: str, exchange: Exchange) -> None:
        import base64
        import json

        request = exchange.request
        with open(self.record_path or "", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({
                "check": check, "method": request.method, "url": request.url,
                "headers": dict(request.headers),
                "body": base64.b64encode(request.body).decode("ascii"),
            }) + "\n")


def request_event(delivery: Delivery | Exchange) -> str:
    return delivery.event.name if isinstance(delivery, Delivery) else "?"


def make_target(provider: Provider, settings: Settings, *, secret: str, engine: ValidationEngine,
                effects_hook: EffectsHook | None = None) -> Target:
    verify: bool | str = False if settings.insecure else (settings.ca_bundle or True)
    assert settings.target_url is not None
    builder = DeliveryBuilder(
        provider,
        target_url=settings.target_url,
        secret=secret,
        signing_url=settings.signing_url,
        method=settings.method,
        hook_urls=settings.hook_urls,
        signing_urls=settings.signing_urls,
        forwarded=not settings.no_forwarded,
    )
    client = DeliveryClient(timeout=provider.timeout_budget + GRACE_SECONDS, verify=verify)
    effects = EffectsProbe(url=settings.effects_url, hook=effects_hook, verify=verify)
    import os

    return Target(provider, settings, builder, client, engine, effects, settings.secret_env,
                  record_path=os.environ.get("HOOKPROOF_RECORD_REQUESTS") or None)
