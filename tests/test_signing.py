"""Unit tests for hookproof.signing, scheme by scheme."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hookproof.signing import (
    SETTINGS_HEADER,
    OperatorScheme,
    StandardWebhooksScheme,
    TwilioScheme,
    VardaScheme,
    Verification,
    WireRequest,
    default_port_variants,
    header,
    parse_form,
    scheme_for,
    sha256_hex,
    standard_webhooks_key,
    twilio_body_hash_url,
    twilio_signature,
    twilio_signing_string,
    url_without_query,
    varda_signature,
)

TOKEN = "12345"
URL = "https://example.com/hooks/twilio"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def twilio_form(**extra: Any) -> TwilioScheme:
    scheme = scheme_for({"scheme": "twilio", **extra}, encoding="form")
    assert isinstance(scheme, TwilioScheme)
    return scheme


def twilio_json(**extra: Any) -> TwilioScheme:
    scheme = scheme_for({"scheme": "twilio", "body_hash": True, **extra}, encoding="json")
    assert isinstance(scheme, TwilioScheme)
    return scheme


def post(body: str, url: str = URL, **headers: str) -> WireRequest:
    return WireRequest("POST", url, {"Content-Type": FORM, **headers}, body.encode())


# ---- WireRequest, Verification, helpers ---------------------------------------------------


def test_header_lookup_is_case_insensitive() -> None:
    request = WireRequest("POST", URL, {"X-Twilio-Signature": "abc"}, b"")
    assert header(request, "x-twilio-signature") == "abc"
    assert request.header("X-TWILIO-SIGNATURE") == "abc"
    assert header(request, "X-Other") is None


def test_with_headers_replaces_in_any_case_and_keeps_the_rest() -> None:
    request = WireRequest("POST", URL, {"x-a": "1", "X-B": "2"}, b"")
    updated = request.with_headers({"X-A": "3"}, Authorization="t")
    assert updated.headers == {"X-B": "2", "X-A": "3", "Authorization": "t"}
    assert request.headers == {"x-a": "1", "X-B": "2"}, "the original is unchanged"
    assert updated.without_headers("x-b", "AUTHORIZATION").headers == {"X-A": "3"}


def test_wire_request_owns_its_headers() -> None:
    headers = {"X-A": "1"}
    request = WireRequest("POST", URL, headers, b"")
    headers["X-A"] = "changed"
    assert request.headers["X-A"] == "1"
    assert request.with_body(b"x").body == b"x" and request.with_url("u").url == "u"


def test_verdict_truthiness() -> None:
    assert Verification(True, "ok")
    assert not Verification(False, "mismatch")
    assert Verification(False, "stale", "a") == Verification(False, "stale", "b")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h.example/p?q=1", ("https://h.example/p?q=1", "https://h.example:443/p?q=1")),
        ("https://h.example:443/p", ("https://h.example:443/p", "https://h.example/p")),
        ("http://h.example/p", ("http://h.example/p", "http://h.example:80/p")),
        ("http://h.example:80", ("http://h.example:80", "http://h.example")),
        ("HTTPS://h.example?x=1", ("HTTPS://h.example?x=1", "HTTPS://h.example:443?x=1")),
        ("https://h.example:8443/p", ("https://h.example:8443/p",)),
        ("http://h.example:443/p", ("http://h.example:443/p",)),
        ("https://u:pw@h.example/p", ("https://u:pw@h.example/p", "https://u:pw@h.example:443/p")),
        ("https://[::1]:443/p", ("https://[::1]:443/p", "https://[::1]/p")),
        ("https://[::1]/p", ("https://[::1]/p", "https://[::1]:443/p")),
        ("ftp://h.example/p", ("ftp://h.example/p",)),
        ("not a url", ("not a url",)),
        # Everything after the host is kept byte for byte, including odd encodings.
        (
            "https://h.example/a%2Fb?x=%20+&y=:443",
            ("https://h.example/a%2Fb?x=%20+&y=:443", "https://h.example:443/a%2Fb?x=%20+&y=:443"),
        ),
    ],
)
def test_default_port_variants(url: str, expected: tuple[str, ...]) -> None:
    assert default_port_variants(url) == expected


def test_parse_form_decodes_like_a_browser_encodes() -> None:
    body = b"a=Hello+w%C3%B6rld+%2B+x&b=&c&&d=%F0%9F%98%80&a=2&e=x%3Dy%26z"
    assert parse_form(body) == [
        ("a", "Hello wörld + x"),
        ("b", ""),
        ("c", ""),
        ("d", "😀"),
        ("a", "2"),
        ("e", "x=y&z"),
    ]
    assert parse_form(b"") == []


def test_twilio_signing_string_rules() -> None:
    params = [("b", "2"), ("a", "z"), ("a", "y"), ("a", "z"), ("B", ""), ("é", "1"), ("😀", "x")]
    # Byte order: "B" (0x42) < "a" (0x61) < "b" < "é" (0xC3..) < "😀" (0xF0..); values of a
    # repeated name de-duplicated and sorted; an empty value contributes just the name.
    assert twilio_signing_string("u", params) == "uBayazb2é1😀x"
    assert twilio_signing_string("https://h/p#rc=3", []) == "https://h/p"
    assert twilio_signing_string("u", {"k": "v"}) == "ukv"


def test_twilio_body_hash_url() -> None:
    digest = sha256_hex(b"{}")
    assert twilio_body_hash_url("https://h/p", b"{}") == f"https://h/p?bodySHA256={digest}"
    assert twilio_body_hash_url("https://h/p?a=1", b"{}") == f"https://h/p?a=1&bodySHA256={digest}"
    # Re-signing replaces a stale hash instead of appending a second one.
    stale = f"https://h/p?a=1&bodySHA256={sha256_hex(b'old')}&b=2"
    assert twilio_body_hash_url(stale, b"{}") == f"https://h/p?a=1&b=2&bodySHA256={digest}"
    assert twilio_body_hash_url("https://h/p#frag", b"{}") == f"https://h/p?bodySHA256={digest}"


def test_url_without_query() -> None:
    assert url_without_query("https://h:8443/p/?a=1&b=2#f") == "https://h:8443/p/"
    assert url_without_query("https://h/p") == "https://h/p"


# ---- scheme_for ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signature", "encoding", "cls", "name", "header_name", "timestamped"),
    [
        (
            {"scheme": "twilio", "header": "X-Twilio-Signature", "algorithm": "HMAC-SHA1"},
            "form",
            TwilioScheme,
            "twilio",
            "X-Twilio-Signature",
            False,
        ),
        ({"scheme": "twilio"}, "json", TwilioScheme, "twilio", "X-Twilio-Signature", False),
        (
            {"scheme": "varda", "header": "X-Varda-Signature"},
            "json",
            VardaScheme,
            "varda",
            "X-Varda-Signature",
            True,
        ),
        (
            {"scheme": "operator", "header": "X-Signature", "timestamp_header": "X-Timestamp"},
            "json",
            OperatorScheme,
            "operator",
            "X-Signature",
            True,
        ),
        (
            {"scheme": "standard-webhooks"},
            "json",
            StandardWebhooksScheme,
            "standard-webhooks",
            "webhook-signature",
            True,
        ),
    ],
)
def test_scheme_for(
    signature: dict[str, Any],
    encoding: str,
    cls: type,
    name: str,
    header_name: str,
    timestamped: bool,
) -> None:
    scheme = scheme_for(signature, encoding=encoding)
    assert isinstance(scheme, cls)
    assert (scheme.name, scheme.header) == (name, header_name)
    assert scheme.capabilities.timestamped is timestamped


def test_scheme_for_twilio_options() -> None:
    assert twilio_json().body_hash is True
    assert twilio_form().body_hash is False
    shared = twilio_form(algorithm="HMAC_SHA256", key_id="KSabc")
    assert shared.algorithm == "HMAC-SHA256"
    assert shared.settings_header_value == "key=KSabc,algorithm=HMAC_SHA256"
    assert twilio_form().settings_header_value is None


@pytest.mark.parametrize(
    ("signature", "encoding"),
    [
        ({"scheme": "hmac"}, "json"),
        ({}, "json"),
        ({"scheme": "twilio"}, "xml"),
        ({"scheme": "twilio", "body_hash": True}, "form"),
        ({"scheme": "twilio", "body_hash": False}, "json"),
        ({"scheme": "twilio", "body_hash": "yes"}, "json"),
        ({"scheme": "twilio", "algorithm": "HMAC-MD5"}, "form"),
        ({"scheme": "varda", "header": ""}, "json"),
        ({"scheme": "operator", "timestamp_header": 5}, "json"),
    ],
)
def test_scheme_for_rejects_bad_mappings(signature: dict[str, Any], encoding: str) -> None:
    with pytest.raises(ValueError):
        scheme_for(signature, encoding=encoding)


# ---- Twilio: form POST ---------------------------------------------------------------------------

BODY = "EventType=onMessageAdd&Body=Hello+w%C3%B6rld+%2B+caf%C3%A9&Author=alice&Attributes=%7B%7D"


def test_twilio_sign_adds_only_the_signature() -> None:
    request = post(BODY)
    signed = twilio_form().sign(request, TOKEN, now=123)
    assert signed.url == request.url and signed.body == request.body
    assert set(signed.headers) == {"Content-Type", "X-Twilio-Signature"}
    assert signed.headers["X-Twilio-Signature"] == twilio_signature(
        URL, parse_form(BODY.encode()), TOKEN
    )
    assert twilio_form().verify(signed, TOKEN, now=0) == Verification(True, "ok")


def test_twilio_missing_header() -> None:
    assert twilio_form().verify(post(BODY), TOKEN, now=0).reason == "missing"


@pytest.mark.parametrize(
    "value",
    ["", "not base64!", "L/OH5YylLD5NRKLl", base64.b64encode(b"x" * 32).decode(), "é" * 28],
)
def test_twilio_malformed_header(value: str) -> None:
    request = post(BODY, **{"X-Twilio-Signature": value})
    assert twilio_form().verify(request, TOKEN, now=0).reason == "malformed"


def test_twilio_lowercase_header_name_is_found() -> None:
    signed = twilio_form().sign(post(BODY), TOKEN, now=0)
    moved = signed.without_headers("X-Twilio-Signature").with_headers(
        {"x-twilio-signature": signed.headers["X-Twilio-Signature"]}
    )
    assert twilio_form().verify(moved, TOKEN, now=0).ok


def test_twilio_wrong_secret() -> None:
    signed = twilio_form().sign(post(BODY), "54321", now=0)
    assert twilio_form().verify(signed, TOKEN, now=0).reason == "mismatch"
    assert twilio_form().verify(signed, "54321", now=0).ok


@pytest.mark.parametrize(
    "tampered",
    [
        BODY.replace("alice", "mallory"),
        BODY + "&Extra=1",
        BODY.replace("&Author=alice", ""),
        BODY.replace("Hello+w", "Hello++w"),  # whitespace is significant
    ],
)
def test_twilio_tampered_body(tampered: str) -> None:
    signed = twilio_form().sign(post(BODY), TOKEN, now=0)
    assert twilio_form().verify(signed.with_body(tampered.encode()), TOKEN, now=0).reason == (
        "mismatch"
    )


def test_twilio_reencoded_but_equal_body_still_verifies() -> None:
    # The signature covers decoded values, not the wire encoding or the wire order.
    signed = twilio_form().sign(post("a=x+y&b=%7B%7D"), TOKEN, now=0)
    for same in ("b={}&a=x%20y", "a=x%20y&b=%7b%7d"):
        assert twilio_form().verify(signed.with_body(same.encode()), TOKEN, now=0).ok


@pytest.mark.parametrize(
    "other",
    [
        "https://example.com/hooks/other",
        "https://example.com/hooks/twilio/",
        "http://example.com/hooks/twilio",
        "https://example.com:8443/hooks/twilio",
        "https://example.com/hooks/twilio?x=1",
        "https://evil.example/hooks/twilio",
    ],
)
def test_twilio_tampered_url(other: str) -> None:
    signed = twilio_form().sign(post(BODY), TOKEN, now=0, signing_url=other)
    assert signed.url == URL
    assert twilio_form().verify(signed, TOKEN, now=0).reason == "mismatch"


@pytest.mark.parametrize(
    ("signed_over", "sent_to"),
    [
        ("https://example.com:443/hooks/twilio", "https://example.com/hooks/twilio"),
        ("https://example.com/hooks/twilio", "https://example.com:443/hooks/twilio"),
        ("http://example.com:80/hooks/twilio?a=1", "http://example.com/hooks/twilio?a=1"),
        ("http://example.com/hooks/twilio", "http://example.com:80/hooks/twilio"),
        ("https://example.com:8443/h", "https://example.com:8443/h"),
    ],
)
def test_twilio_port_variants_both_accepted(signed_over: str, sent_to: str) -> None:
    for scheme in (twilio_form(), twilio_json()):
        request = post(BODY, url=sent_to)
        signed = scheme.sign(request, TOKEN, now=0, signing_url=signed_over)
        assert scheme.verify(signed, TOKEN, now=0).ok, scheme


def test_twilio_non_default_port_is_not_interchangeable() -> None:
    signed = twilio_form().sign(
        post(BODY, url="https://example.com:8443/h"),
        TOKEN,
        now=0,
        signing_url="https://example.com/h",
    )
    assert twilio_form().verify(signed, TOKEN, now=0).reason == "mismatch"


def test_twilio_public_url_behind_a_proxy() -> None:
    public = "https://example.com/hooks/twilio?tenant=7"
    internal = "http://10.0.0.5:8000/hooks/twilio?tenant=7"
    signed = twilio_form().sign(post(BODY, url=internal), TOKEN, now=0, signing_url=public)
    assert twilio_form().verify(signed, TOKEN, now=0).reason == "mismatch"
    assert twilio_form().verify(signed, TOKEN, now=0, public_url=public).ok
    ported = public.replace(".com/", ".com:443/")
    assert twilio_form().verify(signed, TOKEN, now=0, public_url=ported).ok


def test_twilio_repeated_keys_wire_order_is_irrelevant() -> None:
    a = "MessagingBinding.Address=%2B15555550101&MessagingBinding.Address=%2B15555550100&X=1"
    b = "X=1&MessagingBinding.Address=%2B15555550100&MessagingBinding.Address=%2B15555550101"
    sig_a = twilio_form().sign(post(a), TOKEN, now=0).headers["X-Twilio-Signature"]
    sig_b = twilio_form().sign(post(b), TOKEN, now=0).headers["X-Twilio-Signature"]
    assert sig_a == sig_b
    signed = twilio_form().sign(post(a), TOKEN, now=0)
    assert twilio_form().verify(signed.with_body(b.encode()), TOKEN, now=0).ok
    # A framework that keeps only one of the values computes something else.
    collapsed = "MessagingBinding.Address=%2B15555550100&X=1"
    assert twilio_form().verify(signed.with_body(collapsed.encode()), TOKEN, now=0).reason == (
        "mismatch"
    )
    # So does one that joins them with a comma.
    joined = "MessagingBinding.Address=%2B15555550100%2C%2B15555550101&X=1"
    assert not twilio_form().verify(signed.with_body(joined.encode()), TOKEN, now=0)


def test_twilio_duplicate_identical_values_count_once() -> None:
    once = twilio_form().sign(post("a=1&b=2"), TOKEN, now=0).headers["X-Twilio-Signature"]
    twice = twilio_form().sign(post("a=1&a=1&b=2"), TOKEN, now=0).headers["X-Twilio-Signature"]
    assert once == twice


def test_twilio_empty_values_contribute_the_name() -> None:
    body = "Identity=&FriendlyName=&Body=hi"
    signed = twilio_form().sign(post(body), TOKEN, now=0)
    expected = twilio_signature(
        URL, [("Body", "hi"), ("FriendlyName", ""), ("Identity", "")], TOKEN
    )
    assert signed.headers["X-Twilio-Signature"] == expected
    assert (
        twilio_signing_string(URL, parse_form(body.encode())) == URL + "BodyhiFriendlyNameIdentity"
    )
    # A receiver that drops blank values fails.
    dropped = signed.with_body(b"Body=hi")
    assert twilio_form().verify(dropped, TOKEN, now=0).reason == "mismatch"


def test_twilio_get_signs_the_url_alone() -> None:
    url = URL + "?EventType=onConversationStateUpdated&StateFrom=active&StateTo=inactive"
    request = WireRequest("GET", url, {}, b"")
    for scheme in (twilio_form(), twilio_json()):
        signed = scheme.sign(request, TOKEN, now=0)
        assert signed.url == url, "nothing is appended for GET"
        assert signed.headers["X-Twilio-Signature"] == twilio_signature(url, [], TOKEN)
        assert scheme.verify(signed, TOKEN, now=0).ok
        changed = signed.with_url(url.replace("inactive", "closed"))
        assert scheme.verify(changed, TOKEN, now=0).reason == "mismatch"
        ported = signed.with_url(url.replace(".com/", ".com:443/"))
        assert scheme.verify(ported, TOKEN, now=0).ok


def test_twilio_sharedkey_header() -> None:
    scheme = twilio_form(algorithm="HMAC-SHA256")
    signed = scheme.sign(post(BODY), "shared secret", now=0)
    assert signed.headers[SETTINGS_HEADER] == "key=hookproof,algorithm=HMAC_SHA256"
    value = signed.headers["X-Twilio-Signature"]
    assert len(base64.b64decode(value)) == 32
    assert value == twilio_signature(URL, parse_form(BODY.encode()), "shared secret", "HMAC-SHA256")
    assert scheme.verify(signed, "shared secret", now=0).ok
    assert scheme.verify(signed, TOKEN, now=0).reason == "mismatch"
    # The verifier uses its configured algorithm; the announcing header does not choose it.
    assert scheme.verify(signed.without_headers(SETTINGS_HEADER), "shared secret", now=0).ok
    assert twilio_form().verify(signed, "shared secret", now=0).reason == "malformed"
    assert SETTINGS_HEADER not in twilio_form().sign(post(BODY), TOKEN, now=0).headers


# ---- Twilio: JSON with bodySHA256 ----------------------------------------------------------------

JSON_BODY = b'{"eventType":"CONVERSATION_CREATED","data":{"id":"\\u00e9"}}'


def json_post(url: str = "https://example.com/co") -> WireRequest:
    return WireRequest("POST", url, {"Content-Type": "application/json"}, JSON_BODY)


def test_twilio_json_sign_appends_body_hash() -> None:
    signed = twilio_json().sign(json_post(), TOKEN, now=0)
    assert signed.url == f"https://example.com/co?bodySHA256={sha256_hex(JSON_BODY)}"
    assert signed.headers["X-Twilio-Signature"] == twilio_signature(signed.url, [], TOKEN)
    assert twilio_json().verify(signed, TOKEN, now=0).ok
    query = twilio_json().sign(json_post("https://example.com/co?a=1"), TOKEN, now=0)
    assert query.url == f"https://example.com/co?a=1&bodySHA256={sha256_hex(JSON_BODY)}"
    # Re-signing a signed request is idempotent.
    assert twilio_json().sign(signed, TOKEN, now=0) == signed


def test_twilio_body_hash_mismatch() -> None:
    signed = twilio_json().sign(json_post(), TOKEN, now=0)
    # Equivalent JSON, different bytes: the URL signature is still valid, the hash is not.
    tampered = signed.with_body(
        b'{"eventType": "CONVERSATION_CREATED", "data": {"id": "\xc3\xa9"}}'
    )
    assert twilio_json().verify(tampered, TOKEN, now=0).reason == "body-hash"
    # No bodySHA256 in the URL at all, though the URL signature is valid.
    bare = WireRequest("POST", "https://example.com/co", {}, JSON_BODY)
    bare = bare.with_headers(
        {"X-Twilio-Signature": twilio_signature("https://example.com/co", [], TOKEN)}
    )
    assert twilio_json().verify(bare, TOKEN, now=0).reason == "body-hash"
    # Changing the hash in the URL breaks the URL signature first.
    other = signed.with_url(twilio_body_hash_url(signed.url, b"{}"))
    assert twilio_json().verify(other.with_body(b"{}"), TOKEN, now=0).reason == "mismatch"


def test_twilio_json_missing_wrong_secret_tampered_url() -> None:
    signed = twilio_json().sign(json_post(), TOKEN, now=0)
    assert twilio_json().verify(
        signed.without_headers("X-Twilio-Signature"), TOKEN, now=0
    ).reason == ("missing")
    assert twilio_json().verify(signed, "54321", now=0).reason == "mismatch"
    moved = twilio_json().sign(json_post(), TOKEN, now=0, signing_url="https://example.com/other")
    assert moved.url == signed.url
    assert twilio_json().verify(moved, TOKEN, now=0).reason == "mismatch"


# ---- Varda ---------------------------------------------------------------------------------------

V_SECRET = "varda_secret"
V_BODY = b'{"event":"call.started","data":{"id":1,"name":"J\xc3\xa9r\xc3\xb4me"}}'
NOW = 1_750_000_000


def varda() -> VardaScheme:
    scheme = scheme_for({"scheme": "varda", "header": "X-Varda-Signature"}, encoding="json")
    assert isinstance(scheme, VardaScheme)
    return scheme


def varda_request(now: int = NOW) -> WireRequest:
    request = WireRequest("POST", "https://example.com/v", {"X-Varda-Delivery": "d1"}, V_BODY)
    return varda().sign(request, V_SECRET, now=now)


def test_varda_sign_and_verify() -> None:
    signed = varda_request()
    assert signed.headers["X-Varda-Signature"] == (
        f"t={NOW},v1={varda_signature(V_SECRET, NOW, V_BODY)}"
    )
    assert varda().verify(signed, V_SECRET, now=NOW, tolerance=300, future_tolerance=300).ok
    assert varda().capabilities.tolerance == 300 and varda().capabilities.future_tolerance == 300


def test_varda_missing_wrong_secret_tampered_body() -> None:
    signed = varda_request()
    assert varda().verify(
        signed.without_headers("X-Varda-Signature"), V_SECRET, now=NOW
    ).reason == ("missing")
    assert varda().verify(signed, "other", now=NOW).reason == "mismatch"
    assert varda().verify(signed.with_body(V_BODY + b" "), V_SECRET, now=NOW).reason == "mismatch"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        f"t={NOW}",
        "v1=" + "0" * 64,
        f"t=abc,v1={'0' * 64}",
        f"t=-5,v1={'0' * 64}",
        f"t={NOW},t={NOW + 1},v1={'0' * 64}",
    ],
)
def test_varda_malformed(value: str) -> None:
    request = varda_request().with_headers({"X-Varda-Signature": value})
    assert varda().verify(request, V_SECRET, now=NOW).reason == "malformed"


def test_varda_header_parsing_is_tolerant() -> None:
    v1 = varda_signature(V_SECRET, NOW, V_BODY)
    base = varda_request()
    for value in (
        f"t={NOW}, v1={v1}",
        f"v1={v1},t={NOW}",
        f"t={NOW},v0=abc,v1={v1},scheme=x=y",
        f"t={NOW},v1={'0' * 64},v1={v1}",
    ):
        request = base.with_headers({"X-Varda-Signature": value})
        assert varda().verify(request, V_SECRET, now=NOW).ok, value
    request = base.with_headers({"X-Varda-Signature": f"t={NOW},v1={v1.upper()}"})
    assert varda().verify(request, V_SECRET, now=NOW).reason == "mismatch"


@pytest.mark.parametrize(
    ("offset", "tolerance", "future", "reason"),
    [
        (-300, 300, 300, "ok"),
        (-301, 300, 300, "stale"),
        (300, 300, 300, "ok"),
        (301, 300, 300, "future"),
        (-10_000, None, 300, "ok"),
        (10_000, 300, None, "ok"),
        (-31, 30, 30, "stale"),
    ],
)
def test_varda_stale_and_future(
    offset: int, tolerance: int | None, future: int | None, reason: str
) -> None:
    signed = varda_request(NOW + offset)
    verdict = varda().verify(
        signed, V_SECRET, now=NOW, tolerance=tolerance, future_tolerance=future
    )
    assert verdict.reason == reason


def test_varda_bad_signature_reported_before_freshness() -> None:
    signed = varda_request(NOW - 1000)
    verdict = varda().verify(signed, "other", now=NOW, tolerance=300)
    assert verdict.reason == "mismatch"


# ---- Operator ------------------------------------------------------------------------------------

O_KEY = "op_key"
O_URL = "https://example.com/hooks/operator"


def operator() -> OperatorScheme:
    scheme = scheme_for(
        {"scheme": "operator", "header": "X-Signature", "timestamp_header": "X-Timestamp"},
        encoding="json",
    )
    assert isinstance(scheme, OperatorScheme)
    return scheme


def operator_request(now: int = NOW, url: str = O_URL, **kwargs: str) -> WireRequest:
    request = WireRequest("POST", url, {"X-Idempotency-Key": "idem-1"}, b'{"id":"ev_1"}')
    return operator().sign(request, O_KEY, now=now, **kwargs)


def test_operator_sign_and_verify() -> None:
    signed = operator_request()
    assert signed.headers["X-Timestamp"] == str(NOW)
    assert len(signed.headers["X-Signature"]) == 64
    assert operator().signed_content(signed, now=NOW) == (
        f'{O_URL}:idem-1:{NOW}:{{"id":"ev_1"}}'.encode()
    )
    assert operator().verify(signed, O_KEY, now=NOW, tolerance=30, future_tolerance=30).ok


@pytest.mark.parametrize("name", ["X-Signature", "X-Timestamp", "X-Idempotency-Key"])
def test_operator_missing_headers(name: str) -> None:
    request = operator_request().without_headers(name)
    assert operator().verify(request, O_KEY, now=NOW).reason == "missing"


@pytest.mark.parametrize(
    "change",
    [
        {"X-Timestamp": "soon"},
        {"X-Timestamp": "1.5"},
        {"X-Timestamp": ""},
        {"X-Signature": "abc"},
        {"X-Signature": "z" * 64},
        {"X-Signature": ""},
    ],
)
def test_operator_malformed(change: dict[str, str]) -> None:
    request = operator_request().with_headers(change)
    assert operator().verify(request, O_KEY, now=NOW).reason == "malformed"


def test_operator_wrong_secret_tampered_body_url_key() -> None:
    signed = operator_request()
    assert operator().verify(signed, "other", now=NOW).reason == "mismatch"
    assert operator().verify(signed.with_body(b'{"id":"ev_2"}'), O_KEY, now=NOW).reason == (
        "mismatch"
    )
    moved = operator_request(signing_url="https://example.com/hooks/other")
    assert moved.url == O_URL
    assert operator().verify(moved, O_KEY, now=NOW).reason == "mismatch"
    rekeyed = signed.with_headers({"X-Idempotency-Key": "idem-2"})
    assert operator().verify(rekeyed, O_KEY, now=NOW).reason == "mismatch"
    restamped = signed.with_headers({"X-Timestamp": str(NOW + 1)})
    assert operator().verify(restamped, O_KEY, now=NOW).reason == "mismatch"


def test_operator_query_string_is_not_signed() -> None:
    plain = operator_request()
    query = operator_request(url=O_URL + "?tenant=42&x=%20")
    assert query.headers["X-Signature"] == plain.headers["X-Signature"]
    assert operator().verify(query, O_KEY, now=NOW).ok
    assert operator().verify(plain.with_url(O_URL + "?other=1"), O_KEY, now=NOW).ok


def test_operator_public_url_and_explicit_port() -> None:
    internal = "http://127.0.0.1:9000/hooks/operator"
    signed = operator_request(url=internal, signing_url=O_URL)
    assert operator().verify(signed, O_KEY, now=NOW).reason == "mismatch"
    assert operator().verify(signed, O_KEY, now=NOW, public_url=O_URL + "?q=1").ok
    # Operator signs the URL as configured: an explicit port is part of it.
    ported = operator_request(signing_url="https://example.com:443/hooks/operator")
    assert operator().verify(ported, O_KEY, now=NOW).reason == "mismatch"


@pytest.mark.parametrize(
    ("offset", "reason"), [(-30, "ok"), (-31, "stale"), (30, "ok"), (31, "future")]
)
def test_operator_stale_and_future(offset: int, reason: str) -> None:
    signed = operator_request(NOW + offset)
    verdict = operator().verify(signed, O_KEY, now=NOW, tolerance=30, future_tolerance=30)
    assert verdict.reason == reason
    assert operator().verify(signed, O_KEY, now=NOW).ok, "None disables the window"


def test_operator_needs_the_idempotency_key_to_sign() -> None:
    with pytest.raises(ValueError, match="X-Idempotency-Key"):
        operator().sign(WireRequest("POST", O_URL, {}, b"{}"), O_KEY, now=NOW)


def test_operator_custom_header_names() -> None:
    scheme = scheme_for(
        {
            "scheme": "operator",
            "header": "Sig",
            "timestamp_header": "Ts",
            "idempotency_header": "Idem",
        },
        encoding="json",
    )
    signed = scheme.sign(WireRequest("POST", O_URL, {"Idem": "k"}, b"{}"), O_KEY, now=NOW)
    assert set(signed.headers) == {"Idem", "Ts", "Sig"}
    assert scheme.verify(signed, O_KEY, now=NOW).ok


# ---- Standard Webhooks ---------------------------------------------------------------------------

KEY_BYTES = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY_BYTES).decode()


def sw() -> StandardWebhooksScheme:
    scheme = scheme_for({"scheme": "standard-webhooks"}, encoding="json")
    assert isinstance(scheme, StandardWebhooksScheme)
    return scheme


def sw_request(now: int = NOW, secret: str = SECRET) -> WireRequest:
    request = WireRequest("POST", "https://example.com/c", {"webhook-id": "msg_1"}, b'{"a":1}')
    return sw().sign(request, secret, now=now)


def test_standard_webhooks_key_forms() -> None:
    assert standard_webhooks_key(SECRET) == KEY_BYTES
    assert standard_webhooks_key(SECRET.removeprefix("whsec_")) == KEY_BYTES
    unpadded = "whsec_" + base64.b64encode(bytes(range(25))).decode().rstrip("=")
    assert standard_webhooks_key(unpadded) == bytes(range(25))
    for bad in ("whsec_", "whsec_!!!!", "whsec_abc$"):
        with pytest.raises(ValueError):
            standard_webhooks_key(bad)


def test_standard_webhooks_sign_and_verify() -> None:
    signed = sw_request()
    assert signed.headers["webhook-timestamp"] == str(NOW)
    assert signed.headers["webhook-signature"].startswith("v1,")
    assert sw().verify(signed, SECRET, now=NOW, tolerance=300, future_tolerance=300).ok
    unpadded = SECRET.rstrip("=").removeprefix("whsec_")
    assert sw().verify(signed, unpadded, now=NOW).ok


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_webhooks_missing(name: str) -> None:
    assert sw().verify(sw_request().without_headers(name), SECRET, now=NOW).reason == "missing"
    empty = sw_request().with_headers({name: ""})
    assert sw().verify(empty, SECRET, now=NOW).reason == "missing"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-timestamp": "hello"}, "malformed"),
        ({"webhook-timestamp": "1.5e9"}, "malformed"),
        ({"webhook-signature": "garbage"}, "malformed"),
        ({"webhook-signature": "v1a,abc"}, "mismatch"),
        ({"webhook-signature": "v2,abc v1,def"}, "mismatch"),
    ],
)
def test_standard_webhooks_malformed(change: dict[str, str], reason: str) -> None:
    assert sw().verify(sw_request().with_headers(change), SECRET, now=NOW).reason == reason


def test_standard_webhooks_versions_and_multiple_entries() -> None:
    signed = sw_request()
    good = signed.headers["webhook-signature"]
    for value in (
        f"v1a,xyz {good}",
        f"v2,{good[3:]} {good}",
        f"{good}  v1,AAAA",
        f"v1,{base64.b64encode(bytes(32)).decode()} {good}",
    ):
        assert sw().verify(signed.with_headers({"webhook-signature": value}), SECRET, now=NOW).ok
    # A valid digest under another version label is not a v1 signature.
    relabelled = signed.with_headers({"webhook-signature": "v2" + good[2:]})
    assert sw().verify(relabelled, SECRET, now=NOW).reason == "mismatch"


def test_standard_webhooks_wrong_secret_tampered_body_id() -> None:
    signed = sw_request()
    other = "whsec_" + base64.b64encode(bytes(24)).decode()
    assert sw().verify(signed, other, now=NOW).reason == "mismatch"
    assert sw().verify(signed.with_body(b'{"a": 1}'), SECRET, now=NOW).reason == "mismatch"
    assert sw().verify(signed.with_headers({"webhook-id": "msg_2"}), SECRET, now=NOW).reason == (
        "mismatch"
    )


@pytest.mark.parametrize(
    ("offset", "reason"), [(-300, "ok"), (-301, "stale"), (300, "ok"), (301, "future")]
)
def test_standard_webhooks_stale_and_future(offset: int, reason: str) -> None:
    signed = sw_request(NOW + offset)
    verdict = sw().verify(signed, SECRET, now=NOW, tolerance=300, future_tolerance=300)
    assert verdict.reason == reason


def test_standard_webhooks_needs_the_id_to_sign() -> None:
    with pytest.raises(ValueError, match="webhook-id"):
        sw().sign(WireRequest("POST", "https://e/c", {}, b"{}"), SECRET, now=NOW)


# ---- all schemes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme_factory", "secret", "headers"),
    [
        (twilio_json, TOKEN, {}),
        (varda, V_SECRET, {}),
        (operator, O_KEY, {"X-Idempotency-Key": "k"}),
        (sw, SECRET, {"webhook-id": "msg_1"}),
    ],
)
def test_raw_body_bytes_are_signed_exactly(
    scheme_factory: Any, secret: str, headers: dict[str, str]
) -> None:
    scheme = scheme_factory()
    raw = b' {"a": "\xc3\xa9"}\r\n'
    signed = scheme.sign(WireRequest("POST", URL, headers, raw), secret, now=NOW)
    assert scheme.verify(signed, secret, now=NOW).ok
    for other in (raw.strip(), b'{"a":"\xc3\xa9"}', b' {"a": "\\u00e9"}\r\n'):
        assert not scheme.verify(signed.with_body(other), secret, now=NOW), other
