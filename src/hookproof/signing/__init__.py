"""Sign and verify webhook requests exactly as each platform does.

One module per scheme (``signing/<scheme>.py``), each a small piece:

* ``twilio``: ``X-Twilio-Signature``, Base64 HMAC-SHA1 (Auth Token) over the URL plus the sorted
  form parameters, or over the URL carrying ``bodySHA256`` for JSON bodies. The SharedKey variant
  uses HMAC-SHA256 and announces itself in ``X-Twilio-Webhooks-Signature-Settings``.
* ``varda``: ``X-Varda-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>``.
* ``operator``: ``X-Signature`` = hex HMAC-SHA256 over
  ``"{url}:{X-Idempotency-Key}:{X-Timestamp}:{body}"`` with the URL's query string removed.
* ``standard-webhooks``: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>``.

The schemes are built from small pure functions (``twilio_signature``, ``varda_signature``, ...)
that are exported for tests and for :mod:`hookproof.catalogue.vectors`. Every comparison of a
received signature with an expected one goes through :func:`hmac.compare_digest`.

The step-by-step algorithms and the known-answer vectors are in the provider reference
(``twilio-conversations.md`` §2-§3, ``twilio-orchestrator.md`` §2-§3, ``twilio-frontline.md`` §2-§3,
``varda.md`` §2, ``operator.md`` §2, ``standard-webhooks.md`` §2).

It may import only the base modules and the HTTP model (:mod:`hookproof.transport.wire`): a
scheme is built from a manifest's ``signature`` mapping, never from a catalogue object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hookproof.signing.base import Reason, Scheme, Verification
from hookproof.signing.declarative import HmacScheme
from hookproof.signing.operator import OperatorScheme, operator_signature, operator_signing_string
from hookproof.signing.primitives import default_port_variants, sha256_hex, url_without_query
from hookproof.signing.standard_webhooks import (
    StandardWebhooksScheme,
    standard_webhooks_key,
    standard_webhooks_signature,
    standard_webhooks_signing_string,
)
from hookproof.signing.twilio import (
    SETTINGS_HEADER,
    TwilioScheme,
    parse_form,
    twilio_body_hash_url,
    twilio_signature,
    twilio_signing_string,
)
from hookproof.signing.varda import VardaScheme, varda_signature, varda_signing_string
from hookproof.transport.wire import WireRequest, header

__all__ = [
    "SETTINGS_HEADER",
    "HmacScheme",
    "OperatorScheme",
    "Reason",
    "Scheme",
    "StandardWebhooksScheme",
    "TwilioScheme",
    "VardaScheme",
    "Verification",
    "WireRequest",
    "default_port_variants",
    "header",
    "operator_signature",
    "operator_signing_string",
    "parse_form",
    "scheme_for",
    "sha256_hex",
    "standard_webhooks_key",
    "standard_webhooks_signature",
    "standard_webhooks_signing_string",
    "twilio_body_hash_url",
    "twilio_signature",
    "twilio_signing_string",
    "url_without_query",
    "varda_signature",
    "varda_signing_string",
]



def _text(signature: Mapping[str, Any], key: str, default: str) -> str:
    value = signature.get(key, default)
    if not isinstance(value, str) or not value:
        raise ValueError(f"signature.{key} must be a non-empty string, got {value!r}")
    return value


def scheme_for(signature: Mapping[str, Any], *, encoding: str) -> Scheme:
    """The scheme described by a manifest's ``signature`` mapping, for bodies of ``encoding``
    (``"form"`` or ``"json"``).

    Recognised keys: ``scheme`` (``twilio`` | ``varda`` | ``operator`` | ``standard-webhooks``),
    ``header``; Twilio: ``algorithm`` (``HMAC-SHA1`` default, ``HMAC-SHA256`` = SharedKey),
    ``body_hash`` (defaults to ``encoding == "json"``), ``key_id``; Operator:
    ``timestamp_header``, ``idempotency_header``.
    """
    if encoding not in ("form", "json"):
        raise ValueError(f"encoding must be 'form' or 'json', got {encoding!r}")
    kind = signature.get("scheme")
    if kind == "twilio":
        body_hash = signature.get("body_hash", encoding == "json")
        if not isinstance(body_hash, bool):
            raise ValueError(f"signature.body_hash must be a boolean, got {body_hash!r}")
        if body_hash != (encoding == "json"):
            raise ValueError(
                "Twilio signs JSON bodies with bodySHA256 and form bodies by their parameters: "
                f"body_hash={body_hash} does not fit encoding {encoding!r}"
            )
        return TwilioScheme(
            header=_text(signature, "header", "X-Twilio-Signature"),
            algorithm=_text(signature, "algorithm", "HMAC-SHA1"),
            body_hash=body_hash,
            key_id=_text(signature, "key_id", "hookproof"),
        )
    if kind == "varda":
        return VardaScheme(header=_text(signature, "header", "X-Varda-Signature"))
    if kind == "operator":
        return OperatorScheme(
            header=_text(signature, "header", "X-Signature"),
            timestamp_header=_text(signature, "timestamp_header", "X-Timestamp"),
            idempotency_header=_text(signature, "idempotency_header", "X-Idempotency-Key"),
        )
    if kind == "standard-webhooks":
        # Svix (Clerk, Resend, ...) signs the same way under svix-id, svix-timestamp and
        # svix-signature: header_prefix: svix
        prefix = _text(signature, "header_prefix", "webhook")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", prefix):
            raise ValueError(f"signature.header_prefix {prefix!r}: letters, digits and '-'")
        return StandardWebhooksScheme(
            header=_text(signature, "header", f"{prefix}-signature"),
            id_header=f"{prefix}-id", timestamp_header=f"{prefix}-timestamp")
    if kind == "hmac":
        optional = {key: _text(signature, key, "") for key in ("timestamp_header", "id_header")
                    if signature.get(key) is not None}
        return HmacScheme(
            header=_text(signature, "header", ""),
            algorithm=_text(signature, "algorithm", "sha256").lower(),
            encoding=_text(signature, "encoding", "hex"),
            format=_text(signature, "format", "{signature}"),
            template=_text(signature, "template", "{body}"),
            **optional,
        )
    raise ValueError(f"unknown signature scheme {kind!r} (twilio, varda, operator, "
                     "standard-webhooks or hmac)")
