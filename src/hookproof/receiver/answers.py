"""What the receiver answers: the response of pre-event hooks and callbacks, ``{}`` otherwise.

An answer is computed **deterministically from the payload** (no clock, no randomness, no
database lookups), so that the first delivery and every duplicate of it get the same bytes even
when the duplicate arrives concurrently. The store keeps the answer of the first delivery with
its dedupe row and replays it.

Shapes (each validates against the event's response contract):

* ``twilio-conversations`` pre-events: ``{}`` (allow unchanged, §11); post-events: ``{}``.
* ``twilio-frontline`` ``onConversationAdd``: ``{"friendly_name", "attributes"}`` with
  ``attributes`` a JSON *string* holding an ``avatar`` (§9.1); the CRM, outgoing and templates
  callbacks: the ``Location``'s documented shape (§9.3-9.5); routing: ``{}``.
* ``operator`` ``conversation.setup``: ``{"context": {...}}`` (§9); other events: ``{}``.
* ``twilio-orchestrator``, ``varda``: ``{}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hookproof.catalogue import Event, Provider

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and the exact body bytes (JSON)."""

    status: int
    body: bytes

    @classmethod
    def json(cls, document: Any, status: int = 200) -> Answer:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        return cls(status, text.encode("utf-8"))

    def document(self) -> Any:
        """The body parsed back into JSON (``None`` for an empty body)."""
        return json.loads(self.body) if self.body else None


class Answerer(Protocol):
    def __call__(self, provider: Provider, event: Event, payload: Any) -> Answer:
        """The answer to a valid delivery of ``event``; must depend on ``payload`` only."""
        ...


Payload = Mapping[str, Any]
Compose = Callable[[Payload], Any]

AVATAR_URL = "https://example.com/avatars/customer.png"
PROXY_NUMBER = "+15555550100"


def _text(payload: Payload, name: str) -> str:
    """A form parameter as one string (the first value of a repeated key, "" when absent)."""
    value = payload.get(name)
    if isinstance(value, list):
        value = next((v for v in value if v), "")
    return value if isinstance(value, str) else ""


def frontline_conversation(payload: Payload) -> dict[str, str]:
    """Name the conversation after the customer and give it an avatar (Frontline §9.1)."""
    name = (
        _text(payload, "FriendlyName")
        or _text(payload, "MessagingBinding.Address")
        or _text(payload, "ConversationSid")
        or "Customer"
    )
    return {"friendly_name": name, "attributes": json.dumps({"avatar": AVATAR_URL})}


def _customer(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "display_name": f"Customer {customer_id}",
        "channels": [{"type": "sms", "value": "+15555550123"}],
        "details": {"title": "Notes", "content": "Created by the hookproof reference receiver"},
        "avatar": AVATAR_URL,
    }


def frontline_customer(payload: Payload) -> dict[str, Any]:
    """CRM ``GetCustomerDetailsByCustomerId``: ``{"objects": {"customer": {...}}}``."""
    return {"objects": {"customer": _customer(_text(payload, "CustomerId") or "unknown")}}


def frontline_customers(payload: Payload) -> dict[str, Any]:
    """CRM ``GetCustomersList``: one page of ``min(PageSize, 3)`` customers."""
    size = _text(payload, "PageSize")
    count = min(int(size), 3) if size.isdigit() else 3
    customers = [
        {"customer_id": str(n), "display_name": f"Customer {n}", "avatar": AVATAR_URL}
        for n in range(1, count + 1)
    ]
    return {"objects": {"customers": customers, "searchable": False}}


def frontline_proxy_address(payload: Payload) -> dict[str, str]:
    """Outgoing ``GetProxyAddress``: the sender for the customer's channel."""
    channel = _text(payload, "ChannelType")
    if channel and channel != "sms":
        return {"proxy_address": f"{channel}:{PROXY_NUMBER}"}
    return {"proxy_address": PROXY_NUMBER}


def frontline_templates(payload: Payload) -> list[dict[str, Any]]:
    """Templates ``GetTemplatesByCustomerId``: one category with ready-to-send text."""
    worker = _text(payload, "Worker") or "your agent"
    return [
        {
            "display_name": "Openers",
            "templates": [{"content": f"Hi, this is {worker}. How can I help you today?"}],
        }
    ]


def operator_setup(payload: Payload) -> dict[str, Any]:
    """``conversation.setup``: the context the agent starts the conversation with."""
    inner = payload.get("payload")
    inner = inner if isinstance(inner, Mapping) else {}
    context: dict[str, Any] = {
        "conversation_id": payload.get("conversation_id"),
        "agent_id": payload.get("agent_id"),
        "livemode": payload.get("livemode"),
    }
    if isinstance(inner.get("direction"), str):
        context["direction"] = inner["direction"]
    if isinstance(inner.get("channel"), Mapping):
        context["channel"] = dict(inner["channel"])
    return {"context": context}


REFERENCE_ANSWERS: dict[tuple[str, str], Compose] = {
    ("twilio-frontline", "onConversationAdd"): frontline_conversation,
    ("twilio-frontline", "GetCustomerDetailsByCustomerId"): frontline_customer,
    ("twilio-frontline", "GetCustomersList"): frontline_customers,
    ("twilio-frontline", "GetProxyAddress"): frontline_proxy_address,
    ("twilio-frontline", "GetTemplatesByCustomerId"): frontline_templates,
    ("operator", "conversation.setup"): operator_setup,
}
"""(provider, event) -> the body of its 200 answer; every other event is answered ``{}``."""


class ReferenceAnswerer:
    """Accepts every valid delivery with 200 and the event's documented answer shape."""

    def __init__(self, answers: Mapping[tuple[str, str], Compose] | None = None) -> None:
        self.answers = dict(REFERENCE_ANSWERS if answers is None else answers)

    def __call__(self, provider: Provider, event: Event, payload: Any) -> Answer:
        compose = self.answers.get((provider.id, event.name))
        if compose is None or not isinstance(payload, Mapping):
            return Answer.json({})
        return Answer.json(compose(payload))
