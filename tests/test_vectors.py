"""Known-answer vectors from the provider reference, and the published ``vectors_for`` documents.

Every expected value below is copied from /work/shared/providers/*.md (§2-§3); none is computed
by the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookproof.catalogue.vectors import PROVIDERS, main, vectors_for
from hookproof.signing import (
    SETTINGS_HEADER,
    Scheme,
    WireRequest,
    operator_signature,
    parse_form,
    scheme_for,
    sha256_hex,
    standard_webhooks_signature,
    twilio_body_hash_url,
    twilio_signature,
    twilio_signing_string,
    varda_signature,
)

TWILIO_FORM = {"scheme": "twilio", "header": "X-Twilio-Signature", "algorithm": "HMAC-SHA1"}
TWILIO_JSON = {**TWILIO_FORM, "body_hash": True}
SHARED = {"algorithm": "HMAC-SHA256"}

# ---- documented inputs ---------------------------------------------------------------------------

TC_V1_URL = "https://example.com/myapp.php?foo=1&bar=2"
TC_V1_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
TC_V2_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TC_V2_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
TC_V3_URL = "https://example.com/hooks/twilio"
TC_V3_BODY = (
    "EventType=onMessageAdd&ConversationSid=CH0123456789abcdef0123456789abcdef&Body=Hello+w%C3%B6r"
    "ld+%2B+caf%C3%A9&Author=alice&ParticipantSid=MB0123456789abcdef0123456789abcdef&Attributes=%7B"
    "%7D&AccountSid=AC0123456789abcdef0123456789abcdef&Source=SDK&ClientIdentity=alice&RetryCount=0"
)
TC_V3_STRING = (
    "https://example.com/hooks/twilioAccountSidAC0123456789abcdef0123456789abcdefAttributes{}Autho"
    "raliceBodyHello wörld + caféClientIdentityaliceConversationSidCH0123456789abcdef0123456789abc"
    "defEventTypeonMessageAddParticipantSidMB0123456789abcdef0123456789abcdefRetryCount0SourceSDK"
)
TC_V4_URL = "https://example.com/hooks/twilio/pre"
TC_V4_BODY = (
    "AccountSid=AC0123456789abcdef0123456789abcdef&Attributes=%7B%7D&ChatServiceSid=IS0123456789ab"
    "cdef0123456789abcdef&EventType=onConversationAdd&MessageBody=hi+all&MessagingBinding.Address="
    "%2B15555550101&MessagingBinding.Address=%2B15555550100&MessagingBinding.AuthorAddress=%2B1555"
    "5550100&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&RetryCount=0&Source=SMS&State="
    "initializing"
)
TC_V4_STRING = (
    "https://example.com/hooks/twilio/preAccountSidAC0123456789abcdef0123456789abcdefAttributes{}C"
    "hatServiceSidIS0123456789abcdef0123456789abcdefEventTypeonConversationAddMessageBodyhi allMes"
    "sagingBinding.Address+15555550100MessagingBinding.Address+15555550101MessagingBinding.AuthorA"
    "ddress+15555550100MessagingServiceSidMG0123456789abcdef0123456789abcdefRetryCount0SourceSMSSt"
    "ateinitializing"
)
TC_V5_URL = (
    "https://example.com/hooks/twilio?AccountSid=AC0123456789abcdef0123456789abcdef&EventType=onCo"
    "nversationStateUpdated&ConversationSid=CH0123456789abcdef0123456789abcdef&StateFrom=active&St"
    "ateTo=inactive&Reason=TIMER&StateUpdated=2026-03-31T16%3A32%3A51.111Z&RetryCount=0"
)
TF_V1_URL = "https://example.com/frontline/crm"
TF_V1_BODY = "PageSize=30&Worker=alice%40example.com&Location=GetCustomersList"
TF_V1_STRING = (
    "https://example.com/frontline/crmLocationGetCustomersListPageSize30Workeralice@example.com"
)
TF_V2_URL = "https://example.com/frontline/outgoing"
TF_V2_BODY = (
    "Location=GetProxyAddress&Worker=alice%40example.com&CustomerId=42&ChannelType=whatsapp&Channe"
    "lValue=whatsapp%3A%2B15555550123"
)
TF_V2_STRING = (
    "https://example.com/frontline/outgoingChannelTypewhatsappChannelValuewhatsapp:+15555550123Cus"
    "tomerId42LocationGetProxyAddressWorkeralice@example.com"
)
TO_V1_BODY = '{"eventType":"CONVERSATION_CREATED","timestamp":"2026-01-01T00:00:00Z","data":{}}'
TO_V1_HASH = "ee0e8daba7dbeea8a6ddea9a3e8fb98f01d031a8e58d8c76064b88ac1159c061"
TO_V1_SIGNED_URL = f"https://example.com/webhooks/co?bodySHA256={TO_V1_HASH}"
TO_V2_BODY = '{"property": "value", "boolean": true}'
TO_V2_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
TO_V2_EMPTY_HASH = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
TO_V3_BODY = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}'
TO_V3_HASH = "5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9"
VARDA_SECRET = "varda_test_secret"
VARDA_T = 1711411200
VARDA_BODY = (
    '{"event":"conversation.closed","timestamp":"2024-03-26T00:00:00Z","data":{"id":123,"status":'
    '"closed"}}'
)
VARDA_V1 = "4025827cc8c0ac26a60afa484c024d891cb717c2d2bf34c27dc1b7309002fd0c"
VARDA_V1_RESOLVED = "a5fc37132d79bd8a115f8395bc4acd4e3dbe42a1c6fe0b9d8e8570142819b087"
VARDA_V1_T1 = "713910313a1794f6bd512cd674f20c0ff79bd19cd8cc605d9488c559eeabb1d3"
OP_KEY = "op_test_signing_key"
OP_URL = "https://example.com/hooks/operator"
OP_TS = 1750000000
OP_V1_KEY = "5f0c6c2e-8a43-4d8e-9a52-0c1f3f7b9e21"
OP_V1_BODY = (
    '{"id":"ev_8qm9JBCiTe7","created_at":"2025-06-15T15:06:40Z","agent_id":"ca_8qm9JBCiTe7@v0","l'
    'ivemode":false,"conversation_id":"conv_8qm9JBCiTe7","experimental":false,"payload":{"type":"c'
    'onversation.ended","status":"completed"}}'
)
OP_V1_STRING = f"{OP_URL}:{OP_V1_KEY}:{OP_TS}:{OP_V1_BODY}"
OP_V1_SIG = "b4f6aa86c98596aa6ba29b4dc85612ca8d95d8497859c6ee7d6cae04c291dbe9"
OP_V1_QUERY_WRONG = "485f745e1c77901ab51261dfdf88639b05fc094152b4b4f9d9da834cb19fa98d"
OP_V2_KEY = "0b6f7a8e-2d4c-4f1a-9c3e-7a1d5e9b2c40"
OP_V2_BODY = (
    '{"id":"ev_3kQ7ZrX1bNa","created_at":"2025-06-15T15:06:40Z","agent_id":"ca_8qm9JBCiTe7@v0","l'
    'ivemode":true,"conversation_id":"conv_5TgH2pLmQ9w","experimental":false,"payload":{"type":"co'
    'nversation.setup","channel":{"type":"phone","callee_no":"+15555550100","caller_no":"+155555501'
    '23"},"direction":"inbound"}}'
)
OP_V2_SIG = "1f95513b0e59a2e42ce694bcfecaed48a097f87f168127b1458ebc8a1abc191a"
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_V1 = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
SW_V1_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SW_V2 = (
    "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    1674087231,
    '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-51'
    '98-4599-803e-771906343485"}}',
)
SW_V2_SIG = "v1,ARw42xaAApl/nxRo+iPGYwSaMQaOwMo2eyH5JBRA+bQ="

#: Documented signature header values, by vector id (as published by vectors_for).
DOCUMENTED: dict[str, dict[str, str]] = {
    "twilio-conversations": {
        "TC-V1": "L/OH5YylLD5NRKLltdqwSvS0BnU=",
        "TC-V1-port": "nbjTKFXyL7SOTAXZi6MWqyIuq40=",
        "TC-V2": "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        "TC-V2-port": "kvajT1Ptam85bY51eRf/AJRuM3w=",
        "TC-V3": "+PtNIGouWCmwrd9U14TWXs0czSA=",
        "TC-V3-port": "bOjS8mjGYUnJT/lkxh+gsaCSF6Y=",
        "TC-V4": "Hn+Vlzz0lXBJvcwSYpyu+GM0ai0=",
        "TC-V4-port": "qwTVYL9toXeYh/fPdkU8lnQXZ9U=",
        "TC-V5": "zcGrWeD3vK5l90DQjwtOGxLGGMc=",
        "TC-V6": "GQnDaCUWuNepTdCanfH8nWhfs21WQcYl2lSnHylPj/0=",
    },
    "twilio-orchestrator": {
        "TO-V1": "/MdPS94qZt/Z8AnFuNTjht1MsQI=",
        "TO-V1-port": "M0FeRPHs/IUSHb+d3YFMKDyhvbM=",
        "TO-V2a": "a9nBmqA0ju/hNViExpshrM61xv4=",
        "TO-V2b": "y77kIzt2vzLz71DgmJGsen2scGs=",
        "TO-V2c": "Ldidvp12m26NI7eqEvxnEpkd9Hc=",
        "TO-V2c-noport": "rw/jVviOgicj2+kHZULvebnA4ag=",
        "TO-V3": "hPXmLwIy3Fgqv1i9KPmH/HhQ6zo=",
        "TO-V4": "7LNFvgzDD9Z74P/UuBc0UO0Fzkl1GgmYD1dvidnfS9g=",
    },
    "twilio-frontline": {
        "TF-V1": "axFHZuDlB4SpXT9Z8ff//LPnN+c=",
        "TF-V1-port": "qWbKIHo3AGtMGpyN6cQgKYMlkhs=",
        "TF-V2": "PqqhWaUrusQBPYGwdlD+V0tChxE=",
        "TF-V2-port": "wQmmZA0cVhZizJMzlhatAoAatEg=",
        "TC-V4": "Hn+Vlzz0lXBJvcwSYpyu+GM0ai0=",
        "TC-V4-port": "qwTVYL9toXeYh/fPdkU8lnQXZ9U=",
    },
    "varda": {
        "VA-V1": f"t={VARDA_T},v1={VARDA_V1}",
        "VA-V1-resolved": f"t={VARDA_T},v1={VARDA_V1_RESOLVED}",
        "VA-V1-t+1": f"t={VARDA_T + 1},v1={VARDA_V1_T1}",
        "VA-V1-shifted-t": f"t={VARDA_T + 1},v1={VARDA_V1}",
    },
    "operator": {
        "OP-V1": OP_V1_SIG,
        "OP-V2": OP_V2_SIG,
        "OP-V1-query": OP_V1_SIG,
        "OP-V1-query-signed": OP_V1_QUERY_WRONG,
    },
    "custom": {
        "SW-V1": SW_V1_SIG,
        "SW-V2": SW_V2_SIG,
        "SW-V1-compact": "v1,Vif40peJBP7Iyl0XGmu61n4MwdrcHov5CFREBpE0svs=",
        "SW-V1-ts+1": "v1,l6C9/1+N/lSU6+gfh+YEGqTK2aQ+k8nMEWDvvCgHh7U=",
        "SW-V1-last-char": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
        "SW-V1-multi": (
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + SW_V1_SIG
        ),
    },
}

#: Documented signing strings, by vector id.
DOCUMENTED_STRINGS: dict[str, str] = {
    "TC-V1": (
        "https://example.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675310Digits"
        "1234From+14158675310To+18005551212"
    ),
    "TC-V3": TC_V3_STRING,
    "TC-V4": TC_V4_STRING,
    "TC-V5": TC_V5_URL,
    "TC-V6": TC_V3_STRING,
    "TO-V1": TO_V1_SIGNED_URL,
    "TO-V4": TO_V1_SIGNED_URL,
    "TF-V1": TF_V1_STRING,
    "TF-V2": TF_V2_STRING,
    "VA-V1": f"{VARDA_T}.{VARDA_BODY}",
    "OP-V1": OP_V1_STRING,
    "OP-V1-query": OP_V1_STRING,
}

SIGNATURE_HEADERS = {
    "twilio": "X-Twilio-Signature",
    "varda": "X-Varda-Signature",
    "operator": "X-Signature",
    "standard-webhooks": "webhook-signature",
}


def _doc(provider: str) -> dict[str, Any]:
    return vectors_for(provider)


def _by_id(provider: str) -> dict[str, dict[str, Any]]:
    return {v["id"]: v for v in _doc(provider)["vectors"]}


def _scheme(doc: dict[str, Any], vector: dict[str, Any]) -> Scheme:
    signature = dict(doc["signature"])
    if "algorithm" in vector:
        signature["algorithm"] = vector["algorithm"]
    return scheme_for(signature, encoding=doc["encoding"])


def _request(vector: dict[str, Any]) -> WireRequest:
    return WireRequest(vector["method"], vector["url"], vector["headers"], vector["body"].encode())


ALL_VECTORS = [(p, v["id"]) for p in PROVIDERS for v in vectors_for(p)["vectors"]]
ACCEPTED = [
    (p, v["id"]) for p in PROVIDERS for v in vectors_for(p)["vectors"] if v["expect"] == "accept"
]


# ---- 1. documented values are reproduced by the schemes directly --------------------------------


def _form(body: str) -> WireRequest:
    return WireRequest("POST", "", {}, body.encode())


@pytest.mark.parametrize(
    ("url", "params", "no_port", "with_port"),
    [
        (TC_V1_URL, TC_V1_PARAMS, "L/OH5YylLD5NRKLltdqwSvS0BnU=", "nbjTKFXyL7SOTAXZi6MWqyIuq40="),
        (TC_V2_URL, TC_V2_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "kvajT1Ptam85bY51eRf/AJRuM3w="),
    ],
)
def test_tc_v1_v2_pure_function(
    url: str, params: dict[str, str], no_port: str, with_port: str
) -> None:
    assert twilio_signature(url, params, "12345") == no_port
    assert twilio_signature(url.replace(".com/", ".com:443/"), params, "12345") == with_port


@pytest.mark.parametrize(
    ("url", "body", "string", "no_port", "with_port"),
    [
        (
            TC_V3_URL,
            TC_V3_BODY,
            TC_V3_STRING,
            "+PtNIGouWCmwrd9U14TWXs0czSA=",
            "bOjS8mjGYUnJT/lkxh+gsaCSF6Y=",
        ),
        (
            TC_V4_URL,
            TC_V4_BODY,
            TC_V4_STRING,
            "Hn+Vlzz0lXBJvcwSYpyu+GM0ai0=",
            "qwTVYL9toXeYh/fPdkU8lnQXZ9U=",
        ),
        (TF_V1_URL, TF_V1_BODY, TF_V1_STRING, "axFHZuDlB4SpXT9Z8ff//LPnN+c=", None),
        (TF_V2_URL, TF_V2_BODY, TF_V2_STRING, "PqqhWaUrusQBPYGwdlD+V0tChxE=", None),
    ],
)
def test_twilio_form_known_answers(
    url: str, body: str, string: str, no_port: str, with_port: str | None
) -> None:
    scheme = scheme_for(TWILIO_FORM, encoding="form")
    request = WireRequest("POST", url, {}, body.encode())
    assert twilio_signing_string(url, parse_form(body.encode())) == string
    assert scheme.signed_content(request, now=0) == string.encode()
    signed = scheme.sign(request, "12345", now=0)
    assert signed.url == url and signed.body == request.body
    assert signed.headers["X-Twilio-Signature"] == no_port
    assert scheme.verify(signed, "12345", now=0).reason == "ok"
    if with_port is not None:
        ported = scheme.sign(request, "12345", now=0, signing_url=url.replace(".com/", ".com:443/"))
        assert ported.headers["X-Twilio-Signature"] == with_port
        assert ported.url == url
        assert scheme.verify(ported, "12345", now=0).reason == "ok"


def test_tc_v5_get() -> None:
    scheme = scheme_for(TWILIO_FORM, encoding="form")
    request = WireRequest("GET", TC_V5_URL, {}, b"")
    assert scheme.signed_content(request, now=0) == TC_V5_URL.encode()
    signed = scheme.sign(request, "12345", now=0)
    assert signed.headers["X-Twilio-Signature"] == "zcGrWeD3vK5l90DQjwtOGxLGGMc="
    assert scheme.verify(signed, "12345", now=0).ok


@pytest.mark.parametrize(
    ("encoding", "signature", "url", "body", "expected"),
    [
        (
            "form",
            {**TWILIO_FORM, **SHARED},
            TC_V3_URL,
            TC_V3_BODY,
            "GQnDaCUWuNepTdCanfH8nWhfs21WQcYl2lSnHylPj/0=",
        ),
        (
            "json",
            {**TWILIO_JSON, **SHARED},
            "https://example.com/webhooks/co",
            TO_V1_BODY,
            "7LNFvgzDD9Z74P/UuBc0UO0Fzkl1GgmYD1dvidnfS9g=",
        ),
    ],
)
def test_sharedkey_known_answers(
    encoding: str, signature: dict[str, Any], url: str, body: str, expected: str
) -> None:
    scheme = scheme_for({**signature, "key_id": "KS123"}, encoding=encoding)
    signed = scheme.sign(
        WireRequest("POST", url, {}, body.encode()), "sharedkey_test_secret", now=0
    )
    assert signed.headers["X-Twilio-Signature"] == expected
    assert signed.headers[SETTINGS_HEADER] == "key=KS123,algorithm=HMAC_SHA256"
    assert scheme.verify(signed, "sharedkey_test_secret", now=0).ok
    # The HMAC-SHA1 verifier with the same secret must not accept the SharedKey signature.
    sha1 = scheme_for({**signature, "algorithm": "HMAC-SHA1"}, encoding=encoding)
    assert sha1.verify(signed, "sharedkey_test_secret", now=0).reason == "malformed"


@pytest.mark.parametrize(
    ("body", "hash_", "url", "signed_url", "with_port", "no_port"),
    [
        (
            TO_V1_BODY,
            TO_V1_HASH,
            "https://example.com/webhooks/co",
            TO_V1_SIGNED_URL,
            "M0FeRPHs/IUSHb+d3YFMKDyhvbM=",
            "/MdPS94qZt/Z8AnFuNTjht1MsQI=",
        ),
        (
            TO_V2_BODY,
            TO_V2_HASH,
            TC_V2_URL,
            f"{TC_V2_URL}&bodySHA256={TO_V2_HASH}",
            None,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
        ),
        (
            TO_V2_BODY,
            TO_V2_HASH,
            "https://mycompany.com/myapp.php",
            f"https://mycompany.com/myapp.php?bodySHA256={TO_V2_HASH}",
            None,
            "y77kIzt2vzLz71DgmJGsen2scGs=",
        ),
        (
            "{}",
            TO_V2_EMPTY_HASH,
            TC_V2_URL,
            f"{TC_V2_URL}&bodySHA256={TO_V2_EMPTY_HASH}",
            "Ldidvp12m26NI7eqEvxnEpkd9Hc=",
            "rw/jVviOgicj2+kHZULvebnA4ag=",
        ),
        (
            TO_V3_BODY,
            TO_V3_HASH,
            "https://example.com/myapp",
            f"https://example.com/myapp?bodySHA256={TO_V3_HASH}",
            None,
            "hPXmLwIy3Fgqv1i9KPmH/HhQ6zo=",
        ),
    ],
)
def test_twilio_body_hash_known_answers(
    body: str, hash_: str, url: str, signed_url: str, with_port: str | None, no_port: str
) -> None:
    assert sha256_hex(body.encode()) == hash_
    assert twilio_body_hash_url(url, body.encode()) == signed_url
    scheme = scheme_for(TWILIO_JSON, encoding="json")
    request = WireRequest("POST", url, {"Content-Type": "application/json"}, body.encode())
    signed = scheme.sign(request, "12345", now=0)
    assert signed.url == signed_url
    assert scheme.signed_content(request, now=0) == signed_url.encode()
    assert signed.headers["X-Twilio-Signature"] == no_port
    assert twilio_signature(signed_url, {}, "12345") == no_port
    assert scheme.verify(signed, "12345", now=0).ok
    if with_port is not None:
        ported = scheme.sign(request, "12345", now=0, signing_url=url.replace(".com/", ".com:443/"))
        assert ported.url == signed_url
        assert ported.headers["X-Twilio-Signature"] == with_port
        assert scheme.verify(ported, "12345", now=0).ok


def test_to_v3_documented_signature_is_not_a_12345_vector() -> None:
    # twilio-orchestrator.md §3: the documented value belongs to an unpublished token.
    url = f"https://example.com/myapp?bodySHA256={TO_V3_HASH}"
    request = WireRequest(
        "POST", url, {"X-Twilio-Signature": "hqeF3G9Hrnv6/R0jOhoYDD2PPUs="}, TO_V3_BODY.encode()
    )
    assert scheme_for(TWILIO_JSON, encoding="json").verify(request, "12345", now=0).reason == (
        "mismatch"
    )


def test_varda_known_answers() -> None:
    body = VARDA_BODY.encode()
    assert varda_signature(VARDA_SECRET, VARDA_T, body) == VARDA_V1
    resolved = VARDA_BODY.replace('"closed"}', '"resolved"}').encode()
    assert varda_signature(VARDA_SECRET, VARDA_T, resolved) == VARDA_V1_RESOLVED
    assert varda_signature(VARDA_SECRET, VARDA_T + 1, body) == VARDA_V1_T1
    scheme = scheme_for({"scheme": "varda", "header": "X-Varda-Signature"}, encoding="json")
    request = WireRequest("POST", "https://example.com/v", {}, body)
    assert scheme.signed_content(request, now=VARDA_T) == f"{VARDA_T}.{VARDA_BODY}".encode()
    signed = scheme.sign(request, VARDA_SECRET, now=VARDA_T)
    assert signed.headers["X-Varda-Signature"] == f"t={VARDA_T},v1={VARDA_V1}"
    verdict = scheme.verify(signed, VARDA_SECRET, now=VARDA_T, tolerance=300, future_tolerance=300)
    assert verdict.ok
    # Negative variants of varda.md §2.2.
    assert scheme.verify(signed.with_body(resolved), VARDA_SECRET, now=VARDA_T).reason == (
        "mismatch"
    )
    shifted = signed.with_headers({"X-Varda-Signature": f"t={VARDA_T + 1},v1={VARDA_V1}"})
    assert scheme.verify(shifted, VARDA_SECRET, now=VARDA_T).reason == "mismatch"
    missing = signed.without_headers("x-varda-signature")
    assert scheme.verify(missing, VARDA_SECRET, now=VARDA_T).reason == "missing"
    late = scheme.verify(signed, VARDA_SECRET, now=VARDA_T + 301, tolerance=300)
    assert late.reason == "stale"


def test_operator_known_answers() -> None:
    scheme = scheme_for(
        {"scheme": "operator", "header": "X-Signature", "timestamp_header": "X-Timestamp"},
        encoding="json",
    )
    for key, body, expected in (
        (OP_V1_KEY, OP_V1_BODY, OP_V1_SIG),
        (OP_V2_KEY, OP_V2_BODY, OP_V2_SIG),
    ):
        assert operator_signature(OP_KEY, OP_URL, key, OP_TS, body.encode()) == expected
        request = WireRequest("POST", OP_URL, {"X-Idempotency-Key": key}, body.encode())
        signed = scheme.sign(request, OP_KEY, now=OP_TS)
        assert signed.headers["X-Signature"] == expected
        assert signed.headers["X-Timestamp"] == str(OP_TS)
        assert scheme.verify(signed, OP_KEY, now=OP_TS, tolerance=30, future_tolerance=30).ok
    request = WireRequest("POST", OP_URL, {"X-Idempotency-Key": OP_V1_KEY}, OP_V1_BODY.encode())
    assert scheme.signed_content(request, now=OP_TS) == OP_V1_STRING.encode()
    # The query-string negative case: the query is not signed ...
    query = f"{OP_URL}?tenant=42"
    signed = scheme.sign(request.with_url(query), OP_KEY, now=OP_TS)
    assert signed.headers["X-Signature"] == OP_V1_SIG
    assert scheme.verify(signed, OP_KEY, now=OP_TS).ok
    # ... and signing it gives the documented wrong value, which we reject.
    wrong = operator_signature(OP_KEY, query, OP_V1_KEY, OP_TS, OP_V1_BODY.encode())
    assert wrong == OP_V1_QUERY_WRONG
    wrong_request = signed.with_headers({"X-Signature": wrong})
    assert scheme.verify(wrong_request, OP_KEY, now=OP_TS).reason == "mismatch"


@pytest.mark.parametrize(("vector", "expected"), [(SW_V1, SW_V1_SIG), (SW_V2, SW_V2_SIG)])
@pytest.mark.parametrize("secret", [SW_SECRET, SW_SECRET.removeprefix("whsec_")])
def test_standard_webhooks_known_answers(
    vector: tuple[str, int, str], expected: str, secret: str
) -> None:
    msg_id, ts, body = vector
    assert "v1," + standard_webhooks_signature(secret, msg_id, ts, body.encode()) == expected
    scheme = scheme_for({"scheme": "standard-webhooks"}, encoding="json")
    request = WireRequest("POST", "https://example.com/h", {"webhook-id": msg_id}, body.encode())
    assert scheme.signed_content(request, now=ts) == f"{msg_id}.{ts}.{body}".encode()
    signed = scheme.sign(request, secret, now=ts)
    assert signed.headers["webhook-signature"] == expected
    assert signed.headers["webhook-timestamp"] == str(ts)
    assert scheme.verify(signed, secret, now=ts, tolerance=300, future_tolerance=300).ok


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="}, "mismatch"),
        ({"webhook-signature": "v1,dawfeoifkpqwoekfpqoekf"}, "mismatch"),
        ({"webhook-signature": "v1,g0hM9SsE"}, "mismatch"),
        ({"webhook-signature": "v1,"}, "mismatch"),
        ({"webhook-timestamp": "1614265331"}, "mismatch"),
        ({"webhook-timestamp": "hello"}, "malformed"),
        (
            {
                "webhook-signature": "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
                "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + SW_V1_SIG
            },
            "ok",
        ),
    ],
)
def test_standard_webhooks_negative_table(change: dict[str, str], reason: str) -> None:
    msg_id, ts, body = SW_V1
    request = WireRequest(
        "POST",
        "https://example.com/h",
        {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": SW_V1_SIG},
        body.encode(),
    ).with_headers(change)
    scheme = scheme_for({"scheme": "standard-webhooks"}, encoding="json")
    verdict = scheme.verify(request, SW_SECRET, now=ts, tolerance=300, future_tolerance=300)
    assert verdict.reason == reason
    assert verdict.ok is (reason == "ok")


def test_standard_webhooks_reserialized_body_and_window() -> None:
    msg_id, ts, body = SW_V1
    scheme = scheme_for({"scheme": "standard-webhooks"}, encoding="json")
    request = WireRequest(
        "POST",
        "https://example.com/h",
        {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": SW_V1_SIG},
        body.encode(),
    )
    compact = request.with_body(b'{"test":2432232314}')
    assert scheme.verify(compact, SW_SECRET, now=ts).reason == "mismatch"
    assert standard_webhooks_signature(SW_SECRET, msg_id, ts, compact.body) == (
        "Vif40peJBP7Iyl0XGmu61n4MwdrcHov5CFREBpE0svs="
    )
    assert standard_webhooks_signature(SW_SECRET, msg_id, ts + 1, request.body) == (
        "l6C9/1+N/lSU6+gfh+YEGqTK2aQ+k8nMEWDvvCgHh7U="
    )
    for offset, reason in ((301, "stale"), (-301, "future"), (300, "ok"), (-300, "ok")):
        verdict = scheme.verify(
            request, SW_SECRET, now=ts + offset, tolerance=300, future_tolerance=300
        )
        assert verdict.reason == reason
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        missing = request.without_headers(name)
        assert scheme.verify(missing, SW_SECRET, now=ts).reason == "missing"


# ---- 2. the published documents ------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_document_shape(provider: str) -> None:
    doc = _doc(provider)
    assert doc["provider"] == provider
    assert doc["scheme"] == doc["signature"]["scheme"]
    assert doc["encoding"] in ("form", "json")
    assert isinstance(doc["notes"], str) and doc["notes"]
    ids = [v["id"] for v in doc["vectors"]]
    assert len(ids) == len(set(ids)), "vector ids must be unique"
    for vector in doc["vectors"]:
        assert set(vector) >= {
            "id",
            "description",
            "expect",
            "reason",
            "secret",
            "method",
            "url",
            "headers",
            "body",
            "now",
            "signing_string",
        }
        assert vector["expect"] in ("accept", "reject")
        assert (vector["reason"] == "ok") is (vector["expect"] == "accept")
        assert vector["method"] in ("GET", "POST")
        assert isinstance(vector["body"], str)
        if doc["tolerance"] is None:
            assert vector["now"] is None
        else:
            assert isinstance(vector["now"], int)
        if vector["expect"] == "accept":
            assert vector["signing_string"]
    # Machine-readable: survives a JSON round trip unchanged.
    assert json.loads(json.dumps(doc)) == doc
    # Both outcomes are represented for every provider.
    assert {v["expect"] for v in doc["vectors"]} == {"accept", "reject"}


EXPECTED_IDS = {
    "twilio-conversations": {
        "TC-V1",
        "TC-V2",
        "TC-V3",
        "TC-V4",
        "TC-V5",
        "TC-V6",
        "TC-V3-port",
        "TC-V3-missing",
        "TC-V3-wrong-secret",
        "TC-V3-tampered-body",
        "TC-V3-tampered-url",
    },
    "twilio-orchestrator": {"TO-V1", "TO-V2a", "TO-V2b", "TO-V2c", "TO-V3", "TO-V4"},
    "twilio-frontline": {"TF-V1", "TF-V2", "TC-V4", "TF-V1-missing", "TF-V1-tampered-body"},
    "varda": {"VA-V1", "VA-V1-tampered-body", "VA-V1-shifted-t", "VA-V1-missing", "VA-V1-stale"},
    "operator": {"OP-V1", "OP-V2", "OP-V1-query", "OP-V1-query-signed"},
    "custom": {
        "SW-V1",
        "SW-V2",
        "SW-V1-last-char",
        "SW-V1-garbage",
        "SW-V1-truncated",
        "SW-V1-empty",
        "SW-V1-reserialized",
        "SW-V1-shifted-ts",
        "SW-V1-multi",
        "SW-V1-no-prefix",
        "SW-V1-no-id",
        "SW-V1-no-timestamp",
        "SW-V1-no-signature",
        "SW-V1-non-numeric-timestamp",
        "SW-V1-stale",
        "SW-V1-future",
    },
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_expected_vectors_present(provider: str) -> None:
    assert EXPECTED_IDS[provider] <= set(_by_id(provider))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_generated_values_match_documentation(provider: str) -> None:
    vectors = _by_id(provider)
    header = SIGNATURE_HEADERS[_doc(provider)["scheme"]]
    for vid, expected in DOCUMENTED[provider].items():
        assert vectors[vid]["headers"][header] == expected, vid
    for vid, string in DOCUMENTED_STRINGS.items():
        if vid in vectors:
            assert vectors[vid]["signing_string"] == string, vid


def test_documented_raw_bodies_and_urls_are_used_verbatim() -> None:
    tc = _by_id("twilio-conversations")
    assert tc["TC-V3"]["body"] == TC_V3_BODY and tc["TC-V3"]["url"] == TC_V3_URL
    assert tc["TC-V4"]["body"] == TC_V4_BODY and tc["TC-V4"]["url"] == TC_V4_URL
    assert tc["TC-V5"]["url"] == TC_V5_URL and tc["TC-V5"]["body"] == ""
    assert tc["TC-V6"]["secret"] == "sharedkey_test_secret"
    assert tc["TC-V6"]["headers"][SETTINGS_HEADER].endswith(",algorithm=HMAC_SHA256")
    to = _by_id("twilio-orchestrator")
    assert to["TO-V1"]["url"] == TO_V1_SIGNED_URL and to["TO-V1"]["body"] == TO_V1_BODY
    assert to["TO-V3"]["url"].endswith(f"bodySHA256={TO_V3_HASH}")
    assert to["TO-V2c"]["url"] == f"{TC_V2_URL}&bodySHA256={TO_V2_EMPTY_HASH}"
    tf = _by_id("twilio-frontline")
    assert tf["TF-V1"]["body"] == TF_V1_BODY and tf["TF-V2"]["body"] == TF_V2_BODY
    assert _by_id("varda")["VA-V1"]["body"] == VARDA_BODY
    op = _by_id("operator")
    assert op["OP-V1"]["body"] == OP_V1_BODY and op["OP-V2"]["body"] == OP_V2_BODY
    assert op["OP-V1"]["headers"]["X-Idempotency-Key"] == OP_V1_KEY
    assert op["OP-V1-query"]["url"] == f"{OP_URL}?tenant=42"
    sw = _by_id("custom")
    assert sw["SW-V1"]["body"] == SW_V1[2] and sw["SW-V2"]["body"] == SW_V2[2]
    assert sw["SW-V1"]["headers"]["webhook-id"] == SW_V1[0]
    assert sw["SW-V1-no-prefix"]["secret"] == SW_SECRET.removeprefix("whsec_")


@pytest.mark.parametrize(("provider", "vid"), ALL_VECTORS)
def test_every_vector_behaves_as_expected(provider: str, vid: str) -> None:
    doc = _doc(provider)
    vector = _by_id(provider)[vid]
    verdict = _scheme(doc, vector).verify(
        _request(vector),
        vector["secret"],
        now=vector["now"] if vector["now"] is not None else 0,
        tolerance=doc["tolerance"],
        future_tolerance=doc["future_tolerance"],
    )
    assert verdict.ok is (vector["expect"] == "accept"), verdict
    assert verdict.reason == vector["reason"]


@pytest.mark.parametrize(("provider", "vid"), ACCEPTED)
def test_accepted_vectors_fail_with_another_secret(provider: str, vid: str) -> None:
    doc = _doc(provider)
    vector = _by_id(provider)[vid]
    other = "whsec_" + "QUJD" * 8 if doc["scheme"] == "standard-webhooks" else "not-the-secret"
    verdict = _scheme(doc, vector).verify(
        _request(vector), other, now=vector["now"] if vector["now"] is not None else 0
    )
    assert verdict.reason == "mismatch"


def test_unknown_provider() -> None:
    """One clear error naming the known providers (a provider of one's own gets generated
    vectors: tests/test_own_provider.py)."""
    from hookproof.errors import UnknownProviderError

    with pytest.raises(UnknownProviderError, match="unknown provider 'stripe'"):
        vectors_for("stripe")


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["varda"]) == 0
    assert json.loads(capsys.readouterr().out) == vectors_for("varda")
    assert main(["nope"]) == 2


@pytest.mark.parametrize("provider", ["twilio-conversations", "twilio-orchestrator",
                                      "twilio-frontline", "varda", "operator"])
def test_the_vectors_data_is_current(provider: str) -> None:
    """``contracts/<provider>/vectors.json`` is what the builders make from the documented
    examples (rebuild it with ``python -m hookproof.catalogue.vectors --write``)."""
    from hookproof.catalogue.vectors import build_vectors

    assert vectors_for(provider) == build_vectors(provider)
