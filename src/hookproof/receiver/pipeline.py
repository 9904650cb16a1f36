"""One delivery, step by step, independent of the web framework.

The order matters and is the point of this module:

1. **Secret** - a provider with no signing secret answers 500: never accept unsigned traffic.
2. **Signature** over the raw bytes and the URL the platform signed, with the replay window
   (no signature: 400; any other failure, stale or future timestamp included: 403).
3. **Decode** the raw body (JSON, or form with repeated keys; GET: the query string) - 400.
4. **Event** - from the body field(s) the manifest names, or the hook group of the URL
   (Frontline). An event the platform may add later is tolerated with 200 ``{}``; an unknown
   Frontline callback ``Location`` gets 422, as the Frontline samples answer.
5. **Contract** - errors give 400 listing them; drift (unknown fields or enum values) is fine.
6. **Dedupe key** - the provider's dedupe header (400 when a signed request lacks it).
7. **Answer**, computed from the payload only, then **dedupe + effect** in one transaction;
   a duplicate gets the answer stored with the first delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.validation import Finding
from hookproof.errors import InputError
from hookproof.receiver.answers import Answer, Answerer
from hookproof.receiver.checks import Validator, Verifier
from hookproof.receiver.config import Clock, ReceiverConfig
from hookproof.receiver.store import SeenDelivery, Store
from hookproof.signing import WireRequest, header
from hookproof.transport.encoding import decode_body


@dataclass(frozen=True)
class Hook:
    """One endpoint: a provider, or one hook group of it (Frontline's CRM callback, ...)."""

    provider: Provider
    group: str | None
    events: tuple[Event, ...]
    """The events this endpoint receives."""

    @property
    def unknown_status(self) -> int:
        """The answer to an event name this endpoint does not know.

        Callback endpoints (Frontline ``Location`` operations) answer 422, as the platform's
        samples do; webhooks answer 200, because the platform may add events at any time.
        """
        if self.events and all(e.kind == "callback" for e in self.events):
            return 422
        return 200

    def event_for(self, name: str | None) -> Event | None:
        """The event ``name`` names here; with no name, the only event of a hook group that the
        platform identifies by its URL alone (Frontline routing)."""
        if name is None:
            if self.group is not None and len(self.events) == 1:
                return self.events[0]
            return None
        return next((e for e in self.events if e.name == name), None)


def hooks_of(provider: Provider) -> dict[str, Hook]:
    """Path (relative to the provider's prefix, ``""`` or ``/crm``) -> hook."""
    if not provider.hook_groups:
        return {"": Hook(provider, None, provider.events)}
    hooks: dict[str, Hook] = {}
    for group, default_path in provider.hook_groups.items():
        path = "/" + default_path.strip("/") if default_path.strip("/") else ""
        events = tuple(e for e in provider.events if e.group == group)
        hooks[path] = Hook(provider, group, events)
    return hooks


MAX_SIGNATURE_HEADER = 1024
"""Characters of a signature or timestamp header the receiver reads at most."""


def error(status: int, message: str, findings: Sequence[Finding] = ()) -> Answer:
    document: dict[str, Any] = {"error": message}
    if findings:
        document["errors"] = [
            {"path": f.path, "message": f.message, "rule": f.keyword} for f in findings
        ]
    return Answer.json(document, status)


@dataclass(frozen=True)
class Pipeline:
    """The delivery pipeline assembled from a config's parts (each swappable: see ``config``)."""

    config: ReceiverConfig
    verifier: Verifier
    validator: Validator
    answerer: Answerer
    store: Store
    clock: Clock

    def deliver(self, hook: Hook, request: WireRequest) -> Answer:
        """Process one delivery. ``request.url`` is the URL the platform signed."""
        provider = hook.provider

        secret = self.config.secret_for(provider.id)
        if secret is None:
            return error(500, "no signing secret configured")

        signed = {str(provider.signature.get(k, "")).lower()
                  for k in ("header", "timestamp_header")} - {""}
        too_long = [name for name, value in request.headers.items()
                    if name.lower() in signed and len(value) > MAX_SIGNATURE_HEADER]
        if too_long:  # before any other work: nothing parses a hostile header
            return error(400, f"{too_long[0]} is over {MAX_SIGNATURE_HEADER} characters")
        verdict = self.verifier(provider, request, secret, now=int(self.clock()))
        if not verdict.ok:
            status = 400 if verdict.reason == "missing" else 403
            return error(status, f"signature rejected: {verdict.reason}")

        raw = request.body
        if request.method.upper() == "GET":
            raw = urlsplit(request.url).query.encode("latin-1")
        try:
            payload = decode_body(raw, provider.transport.encoding)
        except InputError as exc:
            return error(400, f"malformed body: {exc}")

        name = provider.event_name_of(payload, request.headers)
        event = hook.event_for(name)
        if event is None:
            if name is None:
                where = provider.naming_places() or "the payload"
                return error(400, f"no event name (looked in: {where})")
            if hook.unknown_status != 200:
                return error(hook.unknown_status, f"unknown operation {name!r}")
            return Answer.json({})

        result = self.validator(provider, event, payload)
        if result.errors:
            return error(400, f"payload breaks the {event.name} contract", result.errors)

        key = header(request, provider.dedupe_header)
        if not key:
            return error(400, f"no {provider.dedupe_header} header")

        answer = self.answerer(provider, event, payload)
        signature = header(request, str(provider.signature.get("header", "")))
        window = (provider.replay_window.seconds
                  if provider.replay_window and self.config.replay_protection else None)
        return self.store.record(SeenDelivery(provider.id, key, event.name, signature, window),
                                 answer)
