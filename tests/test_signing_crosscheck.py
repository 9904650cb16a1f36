"""Randomised cross-checks against the platforms' own libraries, both ways.

* Twilio: ``twilio.request_validator.RequestValidator`` (``validate`` / ``compute_signature``).
* Standard Webhooks: the ``standardwebhooks`` package (``Webhook.sign`` / ``Webhook.verify``).

Ours signs -> theirs accepts; theirs signs -> ours accepts; and a tampered request is rejected by
both. The example counts add up to a few thousand requests and stay well under 20 s.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError
from twilio.request_validator import RequestValidator, add_port, remove_port

from hookproof.signing import (
    SETTINGS_HEADER,
    WireRequest,
    default_port_variants,
    parse_form,
    scheme_for,
    standard_webhooks_signature,
    twilio_signature,
)

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FORM = scheme_for({"scheme": "twilio"}, encoding="form")
FORM_SHARED = scheme_for({"scheme": "twilio", "algorithm": "HMAC-SHA256"}, encoding="form")
JSON = scheme_for({"scheme": "twilio", "body_hash": True}, encoding="json")
SW = scheme_for({"scheme": "standard-webhooks"}, encoding="json")


class MultiParams(dict[str, list[str]]):
    """Form parameters as Flask's MultiDict presents them to twilio's validator."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def multi(pairs: list[tuple[str, str]]) -> MultiParams:
    params = MultiParams()
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


# ---- strategies ----------------------------------------------------------------------------------

# Any text, including non-BMP characters, spaces, '+', '&', '=', '%' (surrogates are excluded by
# Hypothesis because they cannot be encoded).
tricky = st.sampled_from(["", " ", "+", "&", "=", "%", "%2B", "a b", "é", "😀", "\u00a0", "\n"])
text = st.one_of(st.text(max_size=12), tricky, st.lists(tricky, max_size=4).map("".join))
names = st.one_of(
    st.sampled_from(["Body", "MessagingBinding.Address", "a", "A", "b", "é", "😀", "x y", "+"]),
    text,
)


@st.composite
def form_pairs(draw: st.DrawFn) -> list[tuple[str, str]]:
    pairs = draw(st.lists(st.tuples(names, text), max_size=8))
    # Repeated keys: re-use some names with other (or identical) values.
    for name, _ in draw(st.lists(st.sampled_from(pairs), max_size=3)) if pairs else []:
        pairs.append((name, draw(text)))
    return draw(st.permutations(pairs))


segment = st.one_of(
    st.text(max_size=8).map(lambda s: quote(s, safe="")),
    st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6),  # raw, incl. non-BMP
    st.sampled_from(["index.php", "hooks", "a%20b", "~user", "x.y"]),
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https", "http"]))
    host = draw(st.sampled_from(["example.com", "h.example", "127.0.0.1", "sub.example.org"]))
    port = draw(
        st.one_of(
            st.none(),
            st.just(443 if scheme == "https" else 80),
            st.integers(min_value=1, max_value=65535),
        )
    )
    netloc = host if port is None else f"{host}:{port}"
    path = "/" + "/".join(draw(st.lists(segment, max_size=4)))
    query = draw(st.lists(st.tuples(text, text), max_size=4))
    url = f"{scheme}://{netloc}{path}"
    if query:
        url += "?" + urlencode(query)
    return url


secrets = st.text(min_size=1, max_size=40)
bodies = st.text(max_size=200)


def their_port_variants(url: str) -> list[str]:
    """The URL and, for a default or absent port, twilio's own other form of it."""
    parsed = urlparse(url)
    if parsed.port is None:
        return [url, add_port(parsed)]
    if parsed.port == (443 if parsed.scheme == "https" else 80):
        return [url, remove_port(parsed)]
    return [url]


def form_request(url: str, pairs: list[tuple[str, str]]) -> WireRequest:
    return WireRequest("POST", url, {}, urlencode(pairs).encode())


# ---- Twilio: form POST ---------------------------------------------------------------------------


@SETTINGS
@given(url=urls(), pairs=form_pairs(), secret=secrets)
def test_twilio_form_ours_signs_theirs_validates(
    url: str, pairs: list[tuple[str, str]], secret: str
) -> None:
    request = form_request(url, pairs)
    assert parse_form(request.body) == pairs, "our form decoding is the inverse of urlencode"
    theirs = RequestValidator(secret)
    signed = FORM.sign(request, secret, now=0)
    value = signed.headers["X-Twilio-Signature"]
    assert value == theirs.compute_signature(url, multi(pairs))
    assert theirs.validate(url, multi(pairs), value)
    assert FORM.verify(signed, secret, now=0).ok
    # Signed over the other port form: theirs and ours both accept on the URL as sent.
    for variant in default_port_variants(url)[1:]:
        ported = FORM.sign(request, secret, now=0, signing_url=variant)
        assert theirs.validate(url, multi(pairs), ported.headers["X-Twilio-Signature"])
        assert FORM.verify(ported, secret, now=0).ok


@SETTINGS
@given(url=urls(), pairs=form_pairs(), secret=secrets, data=st.data())
def test_twilio_form_theirs_signs_ours_verifies(
    url: str, pairs: list[tuple[str, str]], secret: str, data: st.DataObject
) -> None:
    theirs = RequestValidator(secret)
    request = form_request(url, pairs)
    signed_over = data.draw(st.sampled_from(their_port_variants(url)))
    value = theirs.compute_signature(signed_over, multi(pairs))
    signed = request.with_headers({"X-Twilio-Signature": value})
    assert FORM.verify(signed, secret, now=0).ok
    # The wire order of the parameters does not matter.
    shuffled = data.draw(st.permutations(pairs))
    assert FORM.verify(signed.with_body(urlencode(shuffled).encode()), secret, now=0).ok
    # A changed parameter set is rejected by both.
    extra = [*pairs, (data.draw(names), "tampered\u2603")]
    assert not FORM.verify(signed.with_body(urlencode(extra).encode()), secret, now=0)
    assert not theirs.validate(url, multi(extra), value)


@settings(SETTINGS, max_examples=250)
@given(url=urls(), pairs=form_pairs(), secret=secrets)
def test_twilio_sharedkey_both_ways(url: str, pairs: list[tuple[str, str]], secret: str) -> None:
    theirs = RequestValidator(secret)
    signed = FORM_SHARED.sign(form_request(url, pairs), secret, now=0)
    assert signed.headers[SETTINGS_HEADER].endswith("algorithm=HMAC_SHA256")
    value = signed.headers["X-Twilio-Signature"]
    assert theirs.validate(url, multi(pairs), value, algorithm="HMAC_SHA256")
    computed = theirs.compute_signature(url, multi(pairs), algorithm="HMAC_SHA256")
    assert computed == value
    assert FORM_SHARED.verify(signed.with_headers({"X-Twilio-Signature": computed}), secret, now=0)


@settings(SETTINGS, max_examples=250)
@given(url=urls(), secret=secrets)
def test_twilio_get_both_ways(url: str, secret: str) -> None:
    theirs = RequestValidator(secret)
    signed = FORM.sign(WireRequest("GET", url, {}, b""), secret, now=0)
    assert signed.url == url
    assert theirs.validate(url, {}, signed.headers["X-Twilio-Signature"])
    for variant in their_port_variants(url):
        value = theirs.compute_signature(variant, {})
        assert FORM.verify(signed.with_headers({"X-Twilio-Signature": value}), secret, now=0)


@settings(SETTINGS, max_examples=600)
@given(url=urls(), pairs=form_pairs())
def test_twilio_pure_function_matches_theirs(url: str, pairs: list[tuple[str, str]]) -> None:
    assert twilio_signature(url, pairs, "12345") == RequestValidator("12345").compute_signature(
        url, multi(pairs)
    )


# ---- Twilio: JSON with bodySHA256 ----------------------------------------------------------------


@SETTINGS
@given(url=urls(), body=bodies, secret=secrets)
def test_twilio_json_ours_signs_theirs_validates(url: str, body: str, secret: str) -> None:
    theirs = RequestValidator(secret)
    request = WireRequest("POST", url, {"Content-Type": "application/json"}, body.encode())
    signed = JSON.sign(request, secret, now=0)
    value = signed.headers["X-Twilio-Signature"]
    assert "bodySHA256=" + theirs.compute_hash(body) in signed.url
    assert theirs.validate(signed.url, body, value)
    assert JSON.verify(signed, secret, now=0).ok
    # Body changed after signing: both reject, ours says why.
    changed = body + " "
    assert not theirs.validate(signed.url, changed, value)
    assert JSON.verify(signed.with_body(changed.encode()), secret, now=0).reason == "body-hash"


@SETTINGS
@given(url=urls(), body=bodies, secret=secrets, data=st.data())
def test_twilio_json_theirs_signs_ours_verifies(
    url: str, body: str, secret: str, data: st.DataObject
) -> None:
    theirs = RequestValidator(secret)
    sent = url + ("&" if "?" in url else "?") + "bodySHA256=" + theirs.compute_hash(body)
    signed_over = data.draw(st.sampled_from(their_port_variants(sent)))
    value = theirs.compute_signature(signed_over, {})
    request = WireRequest("POST", sent, {"X-Twilio-Signature": value}, body.encode())
    assert JSON.verify(request, secret, now=0).ok
    assert theirs.validate(sent, body, value)


# ---- Standard Webhooks ---------------------------------------------------------------------------

sw_secrets = st.binary(min_size=24, max_size=64).map(
    lambda key: "whsec_" + base64.b64encode(key).decode()
)
msg_ids = st.text(
    st.characters(categories=["L", "N"], exclude_characters="."), min_size=1, max_size=30
).filter(lambda s: s.isascii())
payloads = st.text(max_size=300)


def _now() -> int:
    return int(time.time())


@settings(SETTINGS, max_examples=300)
@given(secret=sw_secrets, msg_id=msg_ids, payload=payloads, unpadded=st.booleans())
def test_standard_webhooks_ours_signs_theirs_verifies(
    secret: str, msg_id: str, payload: str, unpadded: bool
) -> None:
    now = _now()
    ours_secret = secret.rstrip("=").removeprefix("whsec_") if unpadded else secret
    request = WireRequest("POST", "https://example.com/c", {"webhook-id": msg_id}, payload.encode())
    signed = SW.sign(request, ours_secret, now=now)
    theirs = Webhook(secret)
    headers = {k.lower(): v for k, v in signed.headers.items()}
    assert theirs.verify(payload, headers, json_parse=False) is None
    assert headers["webhook-signature"] == theirs.sign(
        msg_id, datetime.fromtimestamp(now, tz=UTC), payload
    )
    tampered = payload + "x"
    with pytest.raises(WebhookVerificationError):
        theirs.verify(tampered, headers, json_parse=False)
    assert SW.verify(signed.with_body(tampered.encode()), secret, now=now).reason == "mismatch"


@settings(SETTINGS, max_examples=300)
@given(secret=sw_secrets, old=sw_secrets, msg_id=msg_ids, payload=payloads, extra=st.booleans())
def test_standard_webhooks_theirs_signs_ours_verifies(
    secret: str, old: str, msg_id: str, payload: str, extra: bool
) -> None:
    now = _now()
    value = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, tz=UTC), payload)
    if extra:  # key rotation: an unknown version and the old key's signature come first
        rotated = Webhook(old).sign(msg_id, datetime.fromtimestamp(now, tz=UTC), payload)
        value = f"v1a,AAAA {rotated} {value}"
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": value}
    request = WireRequest("POST", "https://example.com/c", headers, payload.encode())
    assert SW.verify(request, secret, now=now, tolerance=300, future_tolerance=300).ok
    assert "v1," + standard_webhooks_signature(secret, msg_id, now, payload.encode()) in value
    if old != secret and not extra:
        assert SW.verify(request, old, now=now).reason == "mismatch"
