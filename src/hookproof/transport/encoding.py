"""How payloads travel: JSON bodies, and form bodies with repeated keys (Twilio).

A form payload is held as a mapping of parameter name to a string, or to a list of strings
when the key is repeated on the wire (``MessagingBinding.Address`` in a Group MMS).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

from hookproof.errors import InputError

FormValue = str | list[str]
FormPayload = dict[str, FormValue]


def decode_form(body: bytes | str) -> FormPayload:
    """Decode an ``application/x-www-form-urlencoded`` body, keeping repeated keys."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"form body is not UTF-8 ({exc.reason})") from None
    else:
        text = body
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                          errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not a form-encoded body ({exc})") from None
    payload: FormPayload = {}
    for name, value in pairs:
        current = payload.get(name)
        if current is None:
            payload[name] = value
        elif isinstance(current, list):
            current.append(value)
        else:
            payload[name] = [current, value]
    return payload


def form_pairs(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (name, value) pairs of a form payload in wire order, repeated keys expanded."""
    pairs: list[tuple[str, str]] = []
    for name, value in payload.items():
        if isinstance(value, list | tuple):
            pairs.extend((name, _form_text(v)) for v in value)
        else:
            pairs.append((name, _form_text(value)))
    return pairs


def _form_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_form(payload: Mapping[str, Any] | Sequence[tuple[str, str]]) -> bytes:
    """Encode a form payload as Twilio does: UTF-8, ``+`` for spaces, repeated keys."""
    pairs = form_pairs(payload) if isinstance(payload, Mapping) else list(payload)
    return urlencode(pairs, quote_via=quote_plus).encode("ascii")


def encode_json(payload: object) -> bytes:
    """Compact UTF-8 JSON, the way the JSON platforms send it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_body(payload: object, encoding: str) -> bytes:
    if encoding == "form":
        if not isinstance(payload, Mapping):
            raise InputError("a form payload must be an object of parameters")
        return encode_form(payload)
    return encode_json(payload)


def decode_body(body: bytes, encoding: str) -> Any:
    """Parse a raw body of the provider's encoding; InputError when it cannot be parsed."""
    if encoding == "form":
        return decode_form(body)
    from hookproof import safejson

    return safejson.loads(body, what="the body")
