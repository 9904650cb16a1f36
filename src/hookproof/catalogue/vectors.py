"""Machine-readable signing vectors for receiver authors, in any language.

``vectors_for(provider)`` returns a JSON-serialisable document::

    {"provider", "scheme", "signature", "encoding", "tolerance", "future_tolerance", "notes",
     "vectors": [{"id", "description", "expect", "reason", "secret", "algorithm"?, "method", "url",
                  "headers", "body", "now", "signing_string"}, ...]}

* ``expect`` is ``"accept"`` or ``"reject"``; ``reason`` is the
  :class:`hookproof.signing.Verification` reason hookproof's own verifier gives (``"ok"`` for
  accepted vectors).
* ``url`` is the URL the request is sent to; a receiver behind no proxy rebuilds exactly this.
* ``body`` is the raw body as text (UTF-8); ``now`` is the frozen clock to verify with (``null``
  for schemes without a timestamp). Verify with ``tolerance``/``future_tolerance`` seconds.
* ``signing_string`` is the exact text that was HMAC'd, for accepted vectors (``null`` otherwise).

Every vector is *generated* here with :mod:`hookproof.signing`; ``tests/test_vectors.py`` checks the
generated values against the ones published in the provider reference. The secrets are the
documented test secrets.
Run ``python -m hookproof.catalogue.vectors <provider>`` to print one document.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlencode

from hookproof.signing import Reason, Scheme, WireRequest, operator_signature, scheme_for

__all__ = ["PROVIDERS", "SIGNATURES", "vectors_for"]

BUNDLED: Final = ("twilio-conversations", "twilio-orchestrator", "twilio-frontline", "varda",
                  "operator")
"""Providers whose vectors are written out here (from their documented examples)."""


def _from_manifests() -> tuple[dict[str, tuple[dict[str, Any], str]],
                               dict[str, tuple[int | None, int | None]]]:
    """Each provider's ``signature`` mapping, body encoding and replay window, read from its
    manifest (never restated here); ``custom`` is the Standard Webhooks spec's own."""
    from hookproof.catalogue import load_catalogue

    catalogue = load_catalogue()  # cached; only the bundled providers are taken from it
    signatures: dict[str, tuple[dict[str, Any], str]] = {}
    windows: dict[str, tuple[int | None, int | None]] = {}
    for provider_id in BUNDLED:
        provider = catalogue.provider(provider_id)
        signatures[provider_id] = (dict(provider.signature), provider.transport.encoding)
        window = provider.replay_window.seconds if provider.replay_window else None
        windows[provider_id] = (window, window)
    signatures["custom"] = ({"scheme": "standard-webhooks"}, "json")
    windows["custom"] = (300, 300)
    return signatures, windows


_MANIFESTS: Final = _from_manifests()
#: The manifest ``signature`` mapping and body encoding of each provider.
SIGNATURES: Final[dict[str, tuple[dict[str, Any], str]]] = _MANIFESTS[0]
#: Replay windows (stale, future) in seconds; ``None``: no timestamp is signed.
_WINDOWS: Final[dict[str, tuple[int | None, int | None]]] = _MANIFESTS[1]

PROVIDERS: Final = tuple(SIGNATURES)

_FORM: Final = "application/x-www-form-urlencoded; charset=utf-8"
_JSON: Final = "application/json"
_TOKEN: Final = "12345"
_SHARED_KEY: Final = "sharedkey_test_secret"


def _scheme(provider: str, algorithm: str | None = None) -> Scheme:
    signature, encoding = SIGNATURES[provider]
    if algorithm is not None:
        signature = {**signature, "algorithm": algorithm}
    return scheme_for(signature, encoding=encoding)


def _entry(vid: str, description: str, request: WireRequest, secret: str, *,
           expect: str = "accept", reason: Reason = "ok", now: int | None = None,
           signing_string: bytes | None = None, algorithm: str | None = None) -> dict[str, Any]:
    """One vector as ``vectors.json`` holds it."""
    entry: dict[str, Any] = {"id": vid, "description": description, "expect": expect,
                             "reason": reason, "secret": secret}
    if algorithm is not None:
        entry["algorithm"] = algorithm
    entry.update({
        "method": request.method, "url": request.url, "headers": dict(request.headers),
        "body": request.body.decode("utf-8"), "now": now,
        "signing_string": None if signing_string is None else signing_string.decode("utf-8"),
    })
    return entry


def _port(url: str) -> str:
    """``https://host/...`` -> ``https://host:443/...`` (the form Twilio sometimes signs)."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}:{443 if scheme == 'https' else 80}{slash}{path}"


# --------------------------------------------------------------------------------------------------
# Twilio
# --------------------------------------------------------------------------------------------------


def _twilio(provider: str, vid: str, description: str, *, url: str, body: str = "",
            method: str = "POST", secret: str = _TOKEN, algorithm: str = "HMAC-SHA1",
            signing_url: str | None = None) -> tuple[dict[str, Any], WireRequest]:
    """A positive Twilio vector, plus the signed request for deriving negative ones."""
    scheme = _scheme(provider, algorithm)
    encoding = SIGNATURES[provider][1]
    headers = {} if method == "GET" else {"Content-Type": _FORM if encoding == "form" else _JSON}
    request = WireRequest(method, url, headers, body.encode("utf-8"))
    signed = scheme.sign(request, secret, now=0, signing_url=signing_url)
    content = scheme.signed_content(request, now=0, signing_url=signing_url)
    entry = _entry(vid, description, signed, secret, signing_string=content, algorithm=algorithm)
    return entry, signed


def _reject(vid: str, description: str, request: WireRequest, secret: str, reason: Reason, *,
            now: int | None = None, algorithm: str | None = None) -> dict[str, Any]:
    return _entry(vid, description, request, secret, expect="reject", reason=reason, now=now,
                  algorithm=algorithm)


def _form(*pairs: tuple[str, str]) -> str:
    return urlencode(pairs)


_TC_V1_PARAMS: Final = (
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675310"),
    ("Digits", "1234"),
    ("From", "+14158675310"),
    ("To", "+18005551212"),
)
_TC_V2_PARAMS: Final = (
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
)
TC_V3_BODY: Final = (
    "EventType=onMessageAdd&ConversationSid=CH0123456789abcdef0123456789abcdef"
    "&Body=Hello+w%C3%B6rld+%2B+caf%C3%A9&Author=alice"
    "&ParticipantSid=MB0123456789abcdef0123456789abcdef&Attributes=%7B%7D"
    "&AccountSid=AC0123456789abcdef0123456789abcdef&Source=SDK&ClientIdentity=alice&RetryCount=0"
)
TC_V4_BODY: Final = (
    "AccountSid=AC0123456789abcdef0123456789abcdef&Attributes=%7B%7D"
    "&ChatServiceSid=IS0123456789abcdef0123456789abcdef&EventType=onConversationAdd"
    "&MessageBody=hi+all&MessagingBinding.Address=%2B15555550101"
    "&MessagingBinding.Address=%2B15555550100&MessagingBinding.AuthorAddress=%2B15555550100"
    "&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&RetryCount=0&Source=SMS"
    "&State=initializing"
)
TC_V5_URL: Final = (
    "https://example.com/hooks/twilio?AccountSid=AC0123456789abcdef0123456789abcdef"
    "&EventType=onConversationStateUpdated&ConversationSid=CH0123456789abcdef0123456789abcdef"
    "&StateFrom=active&StateTo=inactive&Reason=TIMER&StateUpdated=2026-03-31T16%3A32%3A51.111Z"
    "&RetryCount=0"
)
_TC_V3_URL: Final = "https://example.com/hooks/twilio"
_TC_V4_URL: Final = "https://example.com/hooks/twilio/pre"


_Positive = tuple[str, str, str, str, dict[str, Any]]
"""A positive Twilio vector as a row: id, description, URL, body, other settings."""
_Negative = tuple[str, str, WireRequest, Reason]
"""A negative vector as a row: id, description, the request sent, why it is refused."""


def _positives(provider: str, rows: list[_Positive]) -> list[dict[str, Any]]:
    return [_twilio(provider, vid, what, url=url, body=body, **more)[0]
            for vid, what, url, body, more in rows]


def _negatives(rows: list[_Negative]) -> list[dict[str, Any]]:
    return [_reject(vid, what, request, _TOKEN, reason) for vid, what, request, reason in rows]


def _with_port(vid: str, url: str, body: str, what: str = "") -> _Positive:
    """``vid`` signed over the URL with its default port, sent without it."""
    what = what or f"{vid} signed over {_port(url)}, sent to {url}: accept"
    return (f"{vid}-port", what, url, body, {"signing_url": _port(url)})


def _tc_v4(provider: str, vid: str, note: str) -> list[dict[str, Any]]:
    description = (
        "Group MMS onConversationAdd: MessagingBinding.Address repeated, values not sorted on the "
        "wire; the signing string sorts them" + note
    )
    return _positives(provider, [(vid, description, _TC_V4_URL, TC_V4_BODY, {}),
                                 _with_port(vid, _TC_V4_URL, TC_V4_BODY)])


def _twilio_conversations() -> list[dict[str, Any]]:
    p = "twilio-conversations"
    rows: list[_Positive] = []
    for vid, url, params, what in (
        ("TC-V1", "https://example.com/myapp.php?foo=1&bar=2", _TC_V1_PARAMS,
         "Twilio documentation example"),
        ("TC-V2", "https://mycompany.com/myapp.php?foo=1&bar=2", _TC_V2_PARAMS,
         "twilio-python / twilio-node SDK test vector"),
    ):
        rows.append((vid, f"{what} (form POST)", url, _form(*params), {}))
        rows.append(_with_port(vid, url, _form(*params),
                               f"{vid} signed over {_port(url)}, sent to {url}: the receiver "
                               "must try both forms"))
    rows.append(("TC-V3", "onMessageAdd: values with spaces, '+' and non-ASCII; the signed Body "
                 "is the decoded 'Hello wörld + café'", _TC_V3_URL, TC_V3_BODY, {}))
    rows.append(_with_port("TC-V3", _TC_V3_URL, TC_V3_BODY))
    out = _positives(p, rows)
    out.extend(_tc_v4(p, "TC-V4", ""))
    out.extend(_positives(p, [
        ("TC-V5", "onConversationStateUpdated delivered with GET: the signing string is the URL "
         "alone", TC_V5_URL, "", {"method": "GET"}),
        ("TC-V6", "SharedKey variant (hookproof emulation): HMAC-SHA256 keyed with the UTF-8 "
         "SharedKey secret over the TC-V3 signing string, Base64 in X-Twilio-Signature",
         _TC_V3_URL, TC_V3_BODY, {"secret": _SHARED_KEY, "algorithm": "HMAC-SHA256"}),
    ]))
    # Negative cases derived from TC-V3 (twilio-conversations.md §3).
    v3 = _twilio(p, "TC-V3", "", url=_TC_V3_URL, body=TC_V3_BODY)[1]
    other = "https://example.com/hooks/other"
    out.extend(_negatives([
        ("TC-V3-missing", "TC-V3 with X-Twilio-Signature removed",
         v3.without_headers("X-Twilio-Signature"), "missing"),
        ("TC-V3-wrong-secret", "TC-V3 signed with token 54321; the receiver's token is 12345",
         _scheme(p).sign(v3, "54321", now=0), "mismatch"),
        ("TC-V3-tampered-body", "TC-V3 with Body changed after signing",
         v3.with_body(TC_V3_BODY.replace("Body=Hello+w", "Body=Goodbye+w").encode()), "mismatch"),
        ("TC-V3-tampered-url", f"TC-V3 signed for {other}, sent to {_TC_V3_URL}",
         _scheme(p).sign(v3, _TOKEN, now=0, signing_url=other), "mismatch"),
    ]))
    return out


# --------------------------------------------------------------------------------------------------


_TO_V1_BODY: Final = (
    '{"eventType":"CONVERSATION_CREATED","timestamp":"2026-01-01T00:00:00Z","data":{}}'
)
_TO_V1_URL: Final = "https://example.com/webhooks/co"
_TO_V2_BODY: Final = '{"property": "value", "boolean": true}'
_TO_V3_BODY: Final = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}'


def _twilio_orchestrator() -> list[dict[str, Any]]:
    p = "twilio-orchestrator"
    foo_bar = "https://mycompany.com/myapp.php?foo=1&bar=2"
    out = _positives(p, [
        ("TO-V1", "Orchestrator-shaped JSON body; the URL carries bodySHA256 and is signed alone",
         _TO_V1_URL, _TO_V1_BODY, {}),
        _with_port("TO-V1", _TO_V1_URL, _TO_V1_BODY, f"TO-V1 signed over {_port(_TO_V1_URL)}"
                   "?bodySHA256=…, sent without the port: accept"),
        ("TO-V2a", "twilio-node SDK vector: query foo=1&bar=2 then bodySHA256", foo_bar,
         _TO_V2_BODY, {}),
        ("TO-V2b", "twilio-node SDK vector: bodySHA256 is the only query parameter",
         "https://mycompany.com/myapp.php", _TO_V2_BODY, {}),
        ("TO-V2c", "twilio-node SDK vector with body {}: the published value is signed over the "
         "URL with :443 and the request is sent without it (a port-variant vector)", foo_bar,
         "{}", {"signing_url": _port(foo_bar)}),
        ("TO-V2c-noport", "TO-V2c signed over the URL without the port", foo_bar, "{}", {}),
        ("TO-V3", "Twilio documentation body (body-hash vector only): bodySHA256 is the "
         "documented hash; the documented signature's token is unpublished, so this one is "
         "signed with 12345", "https://example.com/myapp", _TO_V3_BODY, {}),
        ("TO-V4", "SharedKey variant (hookproof emulation): HMAC-SHA256 over the TO-V1 signed "
         "URL", _TO_V1_URL, _TO_V1_BODY, {"secret": _SHARED_KEY, "algorithm": "HMAC-SHA256"}),
    ])
    v1 = _twilio(p, "TO-V1", "", url=_TO_V1_URL, body=_TO_V1_BODY)[1]
    v3 = _twilio(p, "TO-V3", "", url="https://example.com/myapp", body=_TO_V3_BODY)[1]
    other = "https://example.com/webhooks/other"
    unsigned = WireRequest("POST", _TO_V1_URL, {"Content-Type": _JSON}, _TO_V1_BODY.encode())
    out.extend(_negatives([
        ("TO-V1-missing", "TO-V1 with X-Twilio-Signature removed",
         v1.without_headers("X-Twilio-Signature"), "missing"),
        ("TO-V1-body-hash", "TO-V1 with a valid URL signature, but the body no longer matches "
         "bodySHA256", v1.with_body(_TO_V1_BODY.replace("CREATED", "UPDATED").encode()),
         "body-hash"),
        ("TO-V3-body-hash", "TO-V3 with the body re-serialised (spaces added) after hashing and "
         "signing", v3.with_body(_TO_V3_BODY.replace(",", ", ").encode()), "body-hash"),
        ("TO-V1-tampered-url", f"TO-V1 signed for {other}, sent to {_TO_V1_URL}",
         _scheme(p).sign(unsigned, _TOKEN, now=0, signing_url=other), "mismatch"),
    ]))
    return out


# --------------------------------------------------------------------------------------------------


_TF_V1_BODY: Final = "PageSize=30&Worker=alice%40example.com&Location=GetCustomersList"
_TF_V2_BODY: Final = (
    "Location=GetProxyAddress&Worker=alice%40example.com&CustomerId=42&ChannelType=whatsapp"
    "&ChannelValue=whatsapp%3A%2B15555550123"
)


def _twilio_frontline() -> list[dict[str, Any]]:
    p = "twilio-frontline"
    rows: list[_Positive] = []
    for vid, url, body, what in (
        ("TF-V1", "https://example.com/frontline/crm", _TF_V1_BODY, "CRM GetCustomersList"),
        ("TF-V2", "https://example.com/frontline/outgoing", _TF_V2_BODY,
         "Outgoing GetProxyAddress"),
    ):
        rows += [(vid, f"{what} callback (form POST)", url, body, {}),
                 _with_port(vid, url, body)]
    out = _positives(p, rows)
    out.extend(_tc_v4(p, "TC-V4", " (TF-V3: twilio-conversations TC-V4 applies unchanged)"))
    # Negative cases derived from TF-V1 as twilio-conversations.md §3 derives them from TC-V3.
    signed = _twilio(p, "TF-V1", "", url="https://example.com/frontline/crm", body=_TF_V1_BODY)[1]
    other = "https://example.com/frontline/other"
    out.extend(_negatives([
        ("TF-V1-missing", "TF-V1 with X-Twilio-Signature removed",
         signed.without_headers("X-Twilio-Signature"), "missing"),
        ("TF-V1-tampered-body", "TF-V1 with PageSize changed after signing",
         signed.with_body(_TF_V1_BODY.replace("PageSize=30", "PageSize=31").encode()),
         "mismatch"),
        ("TF-V1-tampered-url", f"TF-V1 signed for {other}, sent to .../frontline/crm",
         _scheme(p).sign(signed, _TOKEN, now=0, signing_url=other), "mismatch"),
    ]))
    return out


# --------------------------------------------------------------------------------------------------
# Varda
# --------------------------------------------------------------------------------------------------

_VARDA_SECRET: Final = "varda_test_secret"
_VARDA_T: Final = 1711411200
_VARDA_BODY: Final = (
    '{"event":"conversation.closed","timestamp":"2024-03-26T00:00:00Z",'
    '"data":{"id":123,"status":"closed"}}'
)
_VARDA_URL: Final = "https://example.com/hooks/varda"


def _signed(
    scheme: Scheme,
    request: WireRequest,
    secret: str,
    now: int,
) -> tuple[WireRequest, bytes]:
    return scheme.sign(request, secret, now=now), scheme.signed_content(request, now=now)


def _varda() -> list[dict[str, Any]]:
    scheme = _scheme("varda")
    base = WireRequest(
        "POST",
        _VARDA_URL,
        {"Content-Type": _JSON, "X-Varda-Event": "conversation.closed", "X-Varda-Delivery": "d-1"},
        _VARDA_BODY.encode(),
    )
    s = _VARDA_SECRET
    t = _VARDA_T
    signed, content = _signed(scheme, base, s, t)
    resolved = base.with_body(_VARDA_BODY.replace('"closed"}', '"resolved"}').encode())
    signed_resolved, content_resolved = _signed(scheme, resolved, s, t)
    signed_next, content_next = _signed(scheme, base, s, t + 1)
    sig = signed.headers["X-Varda-Signature"]
    return [
        _entry("VA-V1", "Known-answer vector", signed, s, now=t, signing_string=content),
        _entry("VA-V1-resolved", 'Body with "status":"resolved", correctly signed', signed_resolved,
               s, now=t, signing_string=content_resolved),
        _entry("VA-V1-t+1", "t=1711411201, correctly signed", signed_next, s, now=t,
               signing_string=content_next),
        _entry("VA-V1-unknown-key",
               "VA-V1 with an unknown key in the header, which must be ignored",
               signed.with_headers({"X-Varda-Signature": f"{sig},v0=deadbeef"}), s, now=t,
               signing_string=content),
        _reject("VA-V1-tampered-body", 'Body changed to "status":"resolved", header unchanged',
                signed.with_body(resolved.body), s, "mismatch", now=t),
        _reject("VA-V1-shifted-t", "Header t=1711411201 with the original v1",
                signed.with_headers({"X-Varda-Signature": sig.replace(f"t={t}", f"t={t + 1}")}), s,
                "mismatch", now=t),
        _reject("VA-V1-missing", "X-Varda-Signature removed",
                signed.without_headers("X-Varda-Signature"), s, "missing", now=t),
        _reject("VA-V1-stale",
                "Valid signature, t 301 s in the past (replay window 300 s, graded recommended)",
                signed, s, "stale", now=t + 301),
        _reject("VA-V1-future", "Valid signature, t 301 s in the future (graded recommended)",
                signed, s, "future", now=t - 301),
    ]


# --------------------------------------------------------------------------------------------------
# Operator
# --------------------------------------------------------------------------------------------------

_OP_KEY: Final = "op_test_signing_key"
_OP_URL: Final = "https://example.com/hooks/operator"
_OP_TS: Final = 1750000000
OP_V1_BODY: Final = (
    '{"id":"ev_8qm9JBCiTe7","created_at":"2025-06-15T15:06:40Z","agent_id":"ca_8qm9JBCiTe7@v0",'
    '"livemode":false,"conversation_id":"conv_8qm9JBCiTe7","experimental":false,'
    '"payload":{"type":"conversation.ended","status":"completed"}}'
)
OP_V2_BODY: Final = (
    '{"id":"ev_3kQ7ZrX1bNa","created_at":"2025-06-15T15:06:40Z","agent_id":"ca_8qm9JBCiTe7@v0",'
    '"livemode":true,"conversation_id":"conv_5TgH2pLmQ9w","experimental":false,'
    '"payload":{"type":"conversation.setup","channel":{"type":"phone",'
    '"callee_no":"+15555550100","caller_no":"+15555550123"},"direction":"inbound"}}'
)


def _operator() -> list[dict[str, Any]]:
    scheme = _scheme("operator")
    k, t = _OP_KEY, _OP_TS

    def request(url: str, key: str, body: str) -> WireRequest:
        headers = {"Content-Type": _JSON, "X-Idempotency-Key": key}
        return WireRequest("POST", url, headers, body.encode())

    v1, c1 = _signed(
        scheme, request(_OP_URL, "5f0c6c2e-8a43-4d8e-9a52-0c1f3f7b9e21", OP_V1_BODY), k, t
    )
    v2, c2 = _signed(
        scheme, request(_OP_URL, "0b6f7a8e-2d4c-4f1a-9c3e-7a1d5e9b2c40", OP_V2_BODY), k, t
    )
    query_url = f"{_OP_URL}?tenant=42"
    with_query = v1.with_url(query_url)
    # The value a receiver that wrongly signs the URL *with* its query string computes.
    wrong_value = operator_signature(
        k, query_url, "5f0c6c2e-8a43-4d8e-9a52-0c1f3f7b9e21", t, OP_V1_BODY.encode()
    )
    wrong_url = with_query.with_headers({"X-Signature": wrong_value})
    return [
        _entry("OP-V1", "conversation.ended", v1, k, now=t, signing_string=c1),
        _entry("OP-V2", "conversation.setup", v2, k, now=t, signing_string=c2),
        _entry("OP-V1-query",
               "OP-V1 delivered to ?tenant=42: still verifies, the query string is not signed",
               with_query, k, now=t, signing_string=c1),
        _reject(
            "OP-V1-query-signed",
            "OP-V1 delivered to ?tenant=42 with X-Signature computed over the URL including the "
            "query (what a wrong receiver computes)",
            wrong_url,
            k,
            "mismatch",
            now=t,
        ),
        _reject("OP-V1-missing", "X-Signature removed", v1.without_headers("X-Signature"), k,
                "missing", now=t),
        _reject("OP-V1-tampered-body", "Body changed after signing",
                v1.with_body(OP_V1_BODY.replace("completed", "failed").encode()), k, "mismatch",
                now=t),
        _reject("OP-V1-stale", "Valid signature, X-Timestamp 31 s old", v1, k, "stale", now=t + 31),
        _reject("OP-V1-future", "Valid signature, X-Timestamp 31 s ahead (graded recommended)", v1,
                k, "future", now=t - 31),
    ]


# --------------------------------------------------------------------------------------------------
# Standard Webhooks (provider "custom")
# --------------------------------------------------------------------------------------------------

_SW_SECRET: Final = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
_SW_URL: Final = "https://example.com/hooks/custom"
_SW_V1: Final = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
_SW_V2: Final = (
    "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    1674087231,
    '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z",'
    '"data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}',
)


def _custom() -> list[dict[str, Any]]:
    scheme = _scheme("custom")
    s = _SW_SECRET

    def request(msg_id: str, body: str) -> WireRequest:
        return WireRequest(
            "POST", _SW_URL, {"Content-Type": _JSON, "webhook-id": msg_id}, body.encode()
        )

    v1_id, t, v1_body = _SW_V1
    v1, c1 = _signed(scheme, request(v1_id, v1_body), s, t)
    v2, c2 = _signed(scheme, request(_SW_V2[0], _SW_V2[2]), s, _SW_V2[1])
    compact, c_compact = _signed(scheme, request(v1_id, v1_body.replace(" ", "")), s, t)
    later, c_later = _signed(scheme, request(v1_id, v1_body), s, t + 1)
    good = v1.headers["webhook-signature"]
    other = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="

    def with_sig(value: str) -> WireRequest:
        return v1.with_headers({"webhook-signature": value})

    last = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    rejects: list[tuple[str, str, WireRequest, Reason, int]] = [
        (
            "SW-V1-last-char",
            "Last character of the signature changed",
            with_sig(last),
            "mismatch",
            t,
        ),
        (
            "SW-V1-garbage",
            "Garbage signature",
            with_sig("v1,dawfeoifkpqwoekfpqoekf"),
            "mismatch",
            t,
        ),
        ("SW-V1-truncated", "Truncated signature", with_sig("v1,g0hM9SsE"), "mismatch", t),
        ("SW-V1-empty", "Empty v1 signature", with_sig("v1,"), "mismatch", t),
        (
            "SW-V1-reserialized",
            "Body re-serialised without the space, original header",
            v1.with_body(v1_body.replace(" ", "").encode()),
            "mismatch",
            t,
        ),
        (
            "SW-V1-shifted-ts",
            "webhook-timestamp 1614265331 with the original header",
            v1.with_headers({"webhook-timestamp": str(t + 1)}),
            "mismatch",
            t,
        ),
        ("SW-V1-no-id", "webhook-id missing", v1.without_headers("webhook-id"), "missing", t),
        (
            "SW-V1-no-timestamp",
            "webhook-timestamp missing",
            v1.without_headers("webhook-timestamp"),
            "missing",
            t,
        ),
        (
            "SW-V1-no-signature",
            "webhook-signature missing",
            v1.without_headers("webhook-signature"),
            "missing",
            t,
        ),
        (
            "SW-V1-non-numeric-timestamp",
            "webhook-timestamp: hello",
            v1.with_headers({"webhook-timestamp": "hello"}),
            "malformed",
            t,
        ),
        ("SW-V1-stale", "Valid signature, timestamp 301 s old", v1, "stale", t + 301),
        ("SW-V1-future", "Valid signature, timestamp 301 s ahead", v1, "future", t - 301),
    ]
    return [
        _entry("SW-V1", "Upstream reference-library vector", v1, s, now=t, signing_string=c1),
        _entry("SW-V2", "The spec's minified example", v2, s, now=_SW_V2[1], signing_string=c2),
        _entry("SW-V1-compact", "Body without the space, correctly signed", compact, s, now=t,
               signing_string=c_compact),
        _entry("SW-V1-ts+1", "webhook-timestamp 1614265331, correctly signed", later, s, now=t,
               signing_string=c_later),
        _entry("SW-V1-multi", "Several signatures, one valid v1; the v2 entry is skipped",
               with_sig(f"{other} v2,{other[3:]} {good}"), s, now=t, signing_string=c1),
        _entry("SW-V1-no-prefix", "Secret given without the whsec_ prefix", v1,
               s.removeprefix("whsec_"), now=t, signing_string=c1),
        *(_reject(vid, text, req, s, reason, now=now) for vid, text, req, reason, now in rejects),
    ]


# --------------------------------------------------------------------------------------------------

_BUILDERS: Final[dict[str, Callable[[], list[dict[str, Any]]]]] = {
    "twilio-conversations": _twilio_conversations,
    "twilio-orchestrator": _twilio_orchestrator,
    "twilio-frontline": _twilio_frontline,
    "varda": _varda,
    "operator": _operator,
    "custom": _custom,
}

_NOTES: Final[dict[str, str]] = {
    "twilio-conversations": (
        "X-Twilio-Signature = Base64(HMAC-SHA1(Auth Token, URL + name+value for each form "
        "parameter, names sorted by byte order, values decoded, repeated names' values "
        "de-duplicated and sorted)). GET: the URL alone. Accept the URL with and without the "
        "default port (:443/:80). Vectors with 'algorithm': 'HMAC-SHA256' are the SharedKey "
        "variant. No timestamp: 'now' is null. Reference: twilio-conversations.md §2-§3."
    ),
    "twilio-orchestrator": (
        "JSON POST: the URL carries bodySHA256 = lower-case hex SHA-256 of the raw body; "
        "X-Twilio-Signature = Base64(HMAC-SHA1(Auth Token, full URL)) with nothing appended. "
        "Check both the signature (with and without the default port) and bodySHA256. "
        "TO-V3's documented signature has an unpublished token and is not used. "
        "Reference: twilio-orchestrator.md §2-§3."
    ),
    "twilio-frontline": (
        "Same scheme as twilio-conversations (form POST, sorted name+value pairs). "
        "Reference: twilio-frontline.md §2-§3."
    ),
    "varda": (
        "X-Varda-Signature: t=<unix>,v1=<lower-case hex HMAC-SHA256(secret UTF-8, "
        "'{t}.{raw body}')>. Split on ',' then the first '='; ignore unknown keys. Verify with "
        "the clock frozen at 'now'; window 300 s each way. Reference: varda.md §2."
    ),
    "operator": (
        "X-Signature = lower-case hex HMAC-SHA256(key UTF-8, "
        "'{url without query}:{X-Idempotency-Key}:{X-Timestamp}:{raw body}'). Verify with the "
        "clock frozen at 'now'; window 30 s each way. Reference: operator.md §2."
    ),
    "custom": (
        "Standard Webhooks v1: webhook-signature: v1,<Base64 HMAC-SHA256(base64-decoded "
        "whsec_ secret, '{webhook-id}.{webhook-timestamp}.{raw body}')>; space-separated "
        "entries, skip unknown versions. Verify with the clock frozen at 'now'; window 300 s "
        "each way. Reference: standard-webhooks.md §2."
    ),
}


_GENERATED_NOW: Final = 1_700_000_000
_GENERATED_SECRETS: Final = {"standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
_GENERATED_WRONG: Final = {"standard-webhooks": "whsec_dGhpcyBpcyBhbm90aGVyIGtleQ=="}


def generated_vectors(provider_id: str) -> dict[str, Any]:
    """Vectors for a provider with none written out (a team's own, from ``--contracts``):
    derived from its manifest's scheme and its first event's example, signed here."""
    from hookproof.catalogue import load_catalogue
    from hookproof.catalogue.examples import canonical_example
    from hookproof.signing import url_without_query

    provider = load_catalogue().provider(provider_id)  # raises UnknownProviderError
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    name = str(provider.signature.get("scheme"))
    secret = _GENERATED_SECRETS.get(name, "hookproof-vector-secret")
    event = provider.events[0]
    example = canonical_example(provider.id, event.name)
    body = example.raw
    # what the suite sends: the platform's own headers (the event-name header included)
    headers = {**provider.platform_headers(event.name, example.payload),
               "Content-Type": provider.transport.content_type,
               provider.dedupe_header: "msg_hookproofvector1"}
    request = WireRequest("POST", f"https://hooks.example.com/{provider.id}", headers, body)
    window = provider.replay_window.seconds if provider.replay_window else None
    now = _GENERATED_NOW if scheme.capabilities.timestamped else None
    signed = scheme.sign(request, secret, now=_GENERATED_NOW)
    content = scheme.signed_content(request, now=_GENERATED_NOW)
    vectors = [
        _entry("generated-1", f"{event.name}: its example, signed", signed, secret, now=now,
               signing_string=content),
        _reject("generated-wrong-secret", "signed with another secret",
                scheme.sign(request, _GENERATED_WRONG.get(name, secret + "-other"),
                            now=_GENERATED_NOW), secret,
                "mismatch", now=now),
        _reject("generated-tampered-body", "the body changed after signing (one byte)",
                signed.with_body(signed.body.replace(b"}", b" }", 1)), secret, "mismatch",
                now=now),
        _reject("generated-unsigned", f"no {scheme.header} header",
                signed.without_headers(scheme.header), secret, "missing", now=now),
    ]
    if scheme.capabilities.signs_url:
        other = url_without_query(request.url) + "/other"
        vectors.append(_reject("generated-other-url", "sent to another URL than it was signed "
                               "for", signed.with_url(other), secret, "mismatch", now=now))
    if scheme.capabilities.timestamped and window is not None:
        vectors.append(_reject("generated-stale", f"verified {window + 1} s after signing "
                               f"(window {window} s)", signed, secret, "stale",
                               now=_GENERATED_NOW + window + 1))
    return {"provider": provider.id, "scheme": name, "signature": dict(provider.signature),
            "encoding": provider.transport.encoding, "tolerance": window,
            "future_tolerance": window,
            "notes": [f"generated from {provider.id}'s manifest: its scheme and the example of "
                      f"{event.name}"],
            "vectors": vectors}


def vectors_for(provider: str) -> dict[str, Any]:
    """Positive and negative signing vectors for ``provider`` (see the module docstring): the
    bundled providers' are data next to their contracts (``contracts/<provider>/vectors.json``);
    a provider with none written out gets vectors generated from its manifest."""
    if provider in BUNDLED:
        from hookproof.catalogue import contracts_root

        data: dict[str, Any] = json.loads(
            (contracts_root() / provider / VECTORS_FILE).read_text(encoding="utf-8"))
        return data
    if provider not in _BUILDERS:
        return generated_vectors(provider)
    return build_vectors(provider)


VECTORS_FILE: Final = "vectors.json"


def build_vectors(provider: str) -> dict[str, Any]:
    """The vectors of ``provider`` built here, with :mod:`hookproof.signing`, from the
    documented examples: what ``vectors.json`` holds
    (``python -m hookproof.catalogue.vectors --write`` writes it; a test checks the files are
    current)."""
    signature, encoding = SIGNATURES[provider]
    tolerance, future_tolerance = _WINDOWS[provider]
    return {
        "provider": provider,
        "scheme": signature["scheme"],
        "signature": dict(signature),
        "encoding": encoding,
        "tolerance": tolerance,
        "future_tolerance": future_tolerance,
        "notes": _NOTES[provider],
        "vectors": _BUILDERS[provider](),
    }


def write_data(root: Any) -> list[str]:
    """Write ``<root>/<provider>/vectors.json`` for every bundled provider; the paths."""
    written = []
    for provider in BUNDLED:
        target = root / provider / VECTORS_FILE
        target.write_text(json.dumps(build_vectors(provider), indent=2, ensure_ascii=False)
                          + "\n", encoding="utf-8")
        written.append(str(target))
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--write"]:
        from pathlib import Path

        for path in write_data(Path(__file__).resolve().parents[3] / "contracts"):
            print(path)
        return 0
    if len(args) != 1 or args[0] not in _BUILDERS:
        print(f"usage: python -m hookproof.catalogue.vectors {{{'|'.join(PROVIDERS)}}} | --write",
              file=sys.stderr)
        return 2
    print(json.dumps(vectors_for(args[0]), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
