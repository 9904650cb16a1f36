"""Broken receivers that only generated payloads expose.

Each is the reference receiver with one part swapped: its validator runs the reference
validation first (so a payload that breaks the contract is still refused with 400) and then
crashes (500) on a payload that is valid but unusual, the way real code trips over input its
author never imagined. None of the bundled examples, nor the variants the other checks build
from them, has that shape: only ``fuzz.generated_accepted`` finds it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.validation import ValidationResult
from hookproof.receiver import ReceiverConfig
from hookproof.receiver.checks import ContractValidator

Predicate = Callable[[Any], bool]


def strings(node: Any) -> Iterator[str]:
    """Every string in a payload: keys and values, at any depth."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def astral(payload: Any) -> bool:
    """A character outside the Basic Multilingual Plane anywhere (a UCS-2 / utf8mb3 store)."""
    return any(ord(c) > 0xFFFF for s in strings(payload) for c in s)


def huge_index(payload: Any) -> bool:
    """A message ``Index`` beyond 2^31 - 1 (stored in a 32-bit column)."""
    index = payload.get("Index") if isinstance(payload, dict) else None
    return isinstance(index, str) and index.isdigit() and int(index) > 2**31 - 1


def nested_attributes(payload: Any) -> bool:
    """``Attributes`` holding a nested object or array (the code reads them as flat strings)."""
    text = payload.get("Attributes") if isinstance(payload, dict) else None
    if not isinstance(text, str) or not text:
        return False
    try:
        attributes = json.loads(text)
    except ValueError:
        return False
    return isinstance(attributes, dict) and any(
        isinstance(v, dict | list) for v in attributes.values())


def untimed_transcription(payload: Any) -> bool:
    """A TRANSCRIPTION communication whose word list is empty or whose first word has no
    ``startTime`` (the code reads ``words[0]["startTime"]``; every example has timed words)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, dict) or content.get("type") != "TRANSCRIPTION":
        return False
    transcription = content.get("transcription")
    words = transcription.get("words") if isinstance(transcription, dict) else None
    if not isinstance(words, list):
        return False
    return not words or (isinstance(words[0], dict) and "startTime" not in words[0])


def contact_without_email(payload: Any) -> bool:
    """A named Varda contact with neither email nor phone (the code needs one to reach them;
    the examples have a name with a phone, or no name at all)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return False
    contact = data.get("contact") if "contact" in data else (
        data if str(payload.get("event", "")).startswith("contact.") else None)
    return (isinstance(contact, dict) and "name" in contact and "email" not in contact
            and "phone" not in contact)


@dataclass(frozen=True)
class Defect:
    name: str
    provider: str
    predicate: Predicate
    description: str
    event: str
    """The event the proof runs (every check of it): shrinking over HTTP is slow, and one
    event whose generated payloads reach the defect proves the point."""


DEFECTS: tuple[Defect, ...] = (
    Defect("astral", "varda", astral,
           "crashes on a string with a character outside the BMP (e.g. an emoji)",
           "message.created"),
    Defect("huge_index", "twilio-conversations", huge_index,
           "crashes on a message Index beyond 2^31 - 1", "onMessageAdded"),
    Defect("nested_attributes", "twilio-frontline", nested_attributes,
           "crashes on Attributes holding a nested object or array", "onParticipantAdded"),
    Defect("untimed_transcription", "twilio-orchestrator", untimed_transcription,
           "crashes on a TRANSCRIPTION communication with an empty word list or an "
           "untimed first word", "COMMUNICATION_CREATED"),
    Defect("contact_without_email", "varda", contact_without_email,
           "crashes on a named contact without an email (or phone)", "call.ended"),
)


class CrashingValidator:
    """The reference validator, then a crash (500) on payloads ``predicate`` picks."""

    def __init__(self, predicate: Predicate, provider: str) -> None:
        self.reference = ContractValidator()
        self.predicate = predicate
        self.provider = provider

    def __call__(self, provider: Provider, event: Event, payload: Any) -> ValidationResult:
        result = self.reference(provider, event, payload)
        if result.ok and provider.id == self.provider and self.predicate(payload):
            raise RuntimeError(f"defect: {self.predicate.__name__}")
        return result


def broken_config(defect: Defect, base: ReceiverConfig) -> ReceiverConfig:
    """``base`` with its validator swapped for one that has ``defect``."""
    return dataclasses.replace(base, validator=CrashingValidator(defect.predicate,
                                                                 defect.provider))
