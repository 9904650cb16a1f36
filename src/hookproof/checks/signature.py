"""The signature checks: forged, tampered, malformed, stale and replayed deliveries refused;
genuine ones, in every form the platform sends, accepted."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hookproof.catalogue.loading import Severity
from hookproof.catalogue.variants import (
    TRICKY_JSON_TEXT,
    TRICKY_TEXT,
    free_text_sites,
    json_text_sites,
    reserialized,
)
from hookproof.checks.base import (
    WRONG_SECRET,
    Context,
    _body_hash,
    _catalogue,
    _port_variants,
    _repeatable_site,
    _repeated_keys,
    _replace,
    _signs_url,
    _tamper,
    _timestamped,
    _with_severity,
    check,
)
from hookproof.checks.failures import CheckFailure, Detail, NotApplicable
from hookproof.reach.builder import Delivery, with_default_port
from hookproof.transport.client import Exchange
from hookproof.transport.wire import WireRequest


@check("signature.valid_accepted", expectation="2xx (pre-events and callbacks: 2xx or 4xx)")
def valid_accepted(ctx: Context) -> None:
    """Each event, correctly signed, is accepted."""
    exchange = ctx.send(ctx.deliver())
    ctx.accepted(exchange, "a correctly signed delivery was not accepted")


@check("signature.missing_rejected", expectation="4xx")
def missing_rejected(ctx: Context) -> None:
    """A delivery with no signature header is refused."""
    delivery = ctx.deliver()
    unsigned = delivery.request.without_headers(ctx.builder.scheme.header)
    exchange = ctx.send(_replace(delivery, unsigned))
    ctx.rejected(exchange, "an unsigned delivery was accepted",
                 hint=f"reject requests without {ctx.builder.scheme.header}")


@check("signature.wrong_secret_rejected", expectation="4xx")
def wrong_secret_rejected(ctx: Context) -> None:
    """A delivery signed with another secret is refused."""
    delivery = ctx.deliver(secret=WRONG_SECRET)
    exchange = ctx.send(delivery)
    ctx.rejected(exchange, "a delivery signed with another secret was accepted",
                 hint="compare the computed signature with the received one, in constant time")


def _genuine_and_tampered(ctx: Context) -> tuple[Delivery, Any, bytes]:
    """A genuine delivery, and its payload with one value changed, with that payload's body."""
    payload = ctx.payload()
    tampered = _tamper(ctx, payload)
    return ctx.deliver(payload), tampered, ctx.builder.body_of(tampered)


@check("signature.tampered_body_rejected", expectation="4xx")
def tampered_body_rejected(ctx: Context) -> None:
    """A delivery whose body changed after signing is refused."""
    delivery, tampered_payload, body = _genuine_and_tampered(ctx)
    request = delivery.request.with_body(body)
    if ctx.builder.method == "GET":
        request = ctx.builder.build(ctx.event, tampered_payload,
                                    dedupe_key=delivery.dedupe_key).request.with_headers(
            {ctx.builder.scheme.header: delivery.request.header(ctx.builder.scheme.header) or ""})
    elif _body_hash(ctx.provider, ctx.event, ctx.target):
        # keep bodySHA256 consistent with the new body: only the signature can catch this
        from hookproof.signing import twilio_body_hash_url

        request = request.with_url(twilio_body_hash_url(delivery.request.url, body))
    exchange = ctx.send(_replace(delivery, request))
    ctx.rejected(exchange, "a delivery changed after signing was accepted",
                 hint="the signature must cover every parameter / the raw body")


@check("signature.tampered_url_rejected", expectation="4xx", applies=_signs_url)
def tampered_url_rejected(ctx: Context) -> None:
    """A delivery signed for another URL is refused."""
    url = ctx.builder.signed_url_for(ctx.event)
    parts = urlsplit(url)
    other = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/other-endpoint",
                        parts.query, ""))
    exchange = ctx.send(ctx.deliver(signing_url=other))
    ctx.rejected(exchange, "a delivery signed for another URL was accepted",
                 hint="verify over the URL this endpoint is reached at")


_SIGNATURE_TOKEN = re.compile(r"([=,])?([A-Za-z0-9+/_-]{16,}={0,2})$")


def malformed_headers(ctx: Context,
                      delivery: Delivery) -> list[tuple[str, WireRequest, bool]]:
    """The delivery with its signature (and timestamp) headers broken in every way a parser
    meets in the wild: each variant named, and whether it still carries the valid MAC (a
    receiver that accepts it parses laxly; one that accepts any other verified garbage)."""
    scheme = ctx.builder.scheme
    request = delivery.request
    name = scheme.header
    value = request.header(name) or ""
    forged = ctx.deliver(delivery.payload, secret=WRONG_SECRET, dedupe_key=delivery.dedupe_key)
    wrong = forged.request.header(name) or "x"
    forgeries = {
        "empty": "",
        "garbage": "garbage",
        "truncated": value[: len(value) // 2],
        "not hex or base64": "!" * len(value),
        "duplicated (two values, as a proxy folds repeated headers)": f"{wrong}, {wrong}",
        "over-long (5,000 characters)": (wrong + "A" * 5000)[:5000],
        "non-ASCII (Latin-1 bytes)": "\xe9" * max(len(value), 1),
        "another secret's signature with a non-hex suffix": wrong + "zz",
    }
    carrying = {
        "wrong length (the signature, then more)": value + value[-2:],
        "the signature, then non-hex characters": value + "zz",
        "the signature, then one more digit": value + "0",
        "the signature, then a non-ASCII byte": value + "\xe9",
        "the signature, then UTF-8 bytes": value + "\xc3\xa9",
    }
    token = _SIGNATURE_TOKEN.search(value)
    if token is not None:
        start = token.start(2)
        head, signature = value[:start], value[start:]
        if re.fullmatch(r"[0-9a-f]+", signature):
            carrying["the signature in upper-case hex"] = head + signature.upper()
        if signature.endswith("="):
            carrying["bytes after the base64 padding"] = value + "g="
        if head and not head.endswith(","):
            prefix = head.rsplit(",", 1)[-1]
            carrying[f"the signature without its {prefix!r} prefix"] = (
                head[: len(head) - len(prefix)] + signature)
            carrying[f"the {prefix!r} prefix twice"] = head + prefix + signature
            carrying["white space after the prefix"] = head + " " + signature
    variants = [(f"{name} {kind}", request.with_headers({name: text}), False)
                for kind, text in forgeries.items()]
    variants += [(f"{name} {kind}", request.with_headers({name: text}), True)
                 for kind, text in carrying.items() if text != value]
    stamp_header = getattr(scheme, "timestamp_header", None)
    stamps = {"not a number": "garbage", "empty": "", "negative": "-1",
              "5,000 digits": "9" * 5000}
    if isinstance(stamp_header, str):
        variants += [(f"{stamp_header} {kind}", request.with_headers({stamp_header: text}),
                      False) for kind, text in stamps.items()]
    elif re.search(r"(?:^|,)t=\d+", value):
        variants += [(f"{name} t= {kind}",
                      request.with_headers({name: re.sub(r"(^|,)t=\d+", rf"\g<1>t={text}",
                                                          value)}), False)
                     for kind, text in stamps.items()]
    return variants


@check("signature.malformed_header_rejected", expectation="4xx for each variant, never 5xx",
       per_provider=True)
def malformed_header_rejected(ctx: Context) -> None:
    """Garbage, truncated, non-hex/base64, empty, duplicated and over-long signature (and
    timestamp) headers are refused with a 4xx, never a crash; so, recommended, are variants
    that still carry the valid signature with something around it, and a clean refusal (not
    an error) of non-ASCII header bytes."""
    delivery = ctx.deliver()
    failing: list[tuple[str, Exchange, Severity]] = []
    variants = malformed_headers(ctx, delivery)
    forged = ctx.send(ctx.deliver(delivery.payload, secret=WRONG_SECRET))
    # a receiver that takes another secret's signature fails signature.wrong_secret_rejected;
    # that it also takes the valid one with bytes around it says nothing more
    lax_checked = forged.status_class() != "2xx"
    for label, request, carries_mac in variants:
        if carries_mac and not lax_checked:
            continue
        # no platform sends header bytes outside ASCII (RFC 9110 calls them obs-text) and
        # the platforms' own libraries refuse them cleanly; a handler that errors on one has
        # refused it, noisily: recommended, unless it was accepted
        non_ascii = not all(v.isascii() for v in request.headers.values())
        try:
            exchange = ctx.send(_replace(delivery, request))
        except CheckFailure as failure:
            # an in-process app raising is its 500; a served receiver that died is a crash
            if not (non_ascii and failure.exchanges
                    and failure.exchanges[-1].error_kind == "raised"):
                raise
            exchange = failure.exchanges[-1]
        status = exchange.status_class()
        if status == "4xx":
            continue
        lax = status == "2xx" and carries_mac
        noisy = status != "2xx" and non_ascii
        failing.append((label, exchange, "recommended" if lax or noisy else "required"))
    if not failing:
        return
    failing.sort(key=lambda f: (f[2] != "required", f[1].status_class() != "2xx"))
    label, exchange, severity = failing[0]
    accepted = exchange.status_class() == "2xx"
    if severity == "recommended" and not accepted:
        hint = ("a signature header with non-ASCII bytes was not refused with a 4xx: no "
                "platform sends one, but anyone can, and each is an error in your logs. "
                "hmac.compare_digest raises TypeError on non-ASCII text: compare bytes "
                "(value.encode('latin-1')) or refuse a non-ASCII header first")
    elif severity == "recommended":
        hint = ("the valid signature with something around it still verified: the receiver "
                "parses the header laxly (a prefix stripped with replace(), hex or base64 "
                "decoding that stops at the first bad character, case folded). Not a forgery, "
                "but compare the whole header value with the one you compute")
    elif accepted:
        hint = "a malformed signature must never verify: compare the full computed signature"
    else:
        hint = ("parse the signature header defensively (bounded length, ASCII only, digits, "
                "hex/base64) and answer 400/403 before any other work; hmac.compare_digest "
                "raises on non-ASCII text: compare bytes")
    raise ctx.fail(
        f"a delivery with a malformed signature header ({label}) was "
        + ("accepted" if accepted else "not refused cleanly"),
        expected="4xx", got=ctx.got(exchange), exchanges=[exchange], severity=severity,
        details=[Detail(v, "4xx", ctx.got(e)) for v, e, _ in failing if v != label],
        hint=hint)


@check("signature.body_hash_mismatch_rejected", expectation="4xx", applies=_body_hash)
def body_hash_mismatch_rejected(ctx: Context) -> None:
    """Twilio JSON: the URL signature is right but the body does not match bodySHA256."""
    delivery, _, body = _genuine_and_tampered(ctx)
    exchange = ctx.send(_replace(delivery, delivery.request.with_body(body)))
    ctx.rejected(exchange, "a body that does not match bodySHA256 was accepted",
                 hint="compare SHA-256 (hex) of the raw body with the bodySHA256 query value")


@check("signature.port_variant_accepted", expectation="2xx", applies=_port_variants)
def port_variant_accepted(ctx: Context) -> None:
    """Twilio: a delivery signed over the URL with the explicit default port is accepted."""
    base = ctx.builder.signed_url_for(ctx.event)
    if urlsplit(base).port is not None:
        raise NotApplicable(
            f"the signed URL {base} carries an explicit port, so it has no default-port "
            "variant; give the public URL without a port (--signing-url) to test it")
    exchange = ctx.send(ctx.deliver(signing_url=with_default_port(base)))
    ctx.accepted(exchange, "a delivery signed over the URL with :443/:80 was refused")


@check("signature.repeated_keys_accepted", expectation="2xx", applies=_repeated_keys)
def repeated_keys_accepted(ctx: Context) -> None:
    """Twilio form: a repeated MessagingBinding.Address (Group MMS) is accepted."""
    path = _repeatable_site(ctx.provider, ctx.event)
    assert path is not None
    payload = dict(ctx.payload())
    payload[path[0]] = ["+15555550101", "+15555550100"]
    exchange = ctx.send(ctx.deliver(payload))
    ctx.accepted(exchange, f"a delivery with {path[0]} repeated was not accepted")


def _window_check(ctx: Context, direction: int) -> None:
    window = ctx.provider.replay_window
    assert window is not None
    skew = window.seconds + max(60, window.seconds)
    exchange = ctx.send(ctx.deliver(now=int(time.time()) + direction * skew))
    word = "older" if direction < 0 else "later"
    ctx.rejected(exchange, f"a delivery timestamped {skew} s {word} than now was accepted",
                 hint=f"reject timestamps outside ±{window.seconds} s of the receiver's clock")


@check("signature.stale_timestamp_rejected", expectation="4xx", applies=_timestamped)
def stale_timestamp_rejected(ctx: Context) -> None:
    """Timestamped schemes: a delivery older than the replay window is refused."""
    try:
        _window_check(ctx, -1)
    except CheckFailure as failure:
        window = ctx.provider.replay_window
        raise _with_severity(failure, window.stale if window else "required") from None


@check("signature.future_timestamp_rejected", expectation="4xx", applies=_timestamped)
def future_timestamp_rejected(ctx: Context) -> None:
    """Timestamped schemes: a delivery dated beyond the window ahead is refused."""
    try:
        _window_check(ctx, +1)
    except CheckFailure as failure:
        window = ctx.provider.replay_window
        raise _with_severity(failure, window.future if window else "required") from None


@check("signature.raw_body_preserved", expectation="2xx")
def raw_body_preserved(ctx: Context) -> None:
    """Equivalent JSON in other bytes, or form values with spaces/unicode/+, is accepted."""
    payload = ctx.payload()
    if ctx.provider.transport.encoding == "json":
        body = reserialized(payload)
        exchange = ctx.send(ctx.deliver(payload, body=body))
        ctx.accepted(exchange, "equivalent JSON in other bytes (indented, keys reordered, "
                     "\\u escapes) was refused; verify over the raw body, never re-serialized")
        return
    catalogue = _catalogue()
    changed = dict(payload)
    for site in free_text_sites(catalogue, ctx.event.request):
        if len(site.path) == 1 and site.path[0] in changed and site.path[0] not in (
            ctx.provider.event_fields
        ):
            changed[site.path[0]] = TRICKY_TEXT
            break
    for site in json_text_sites(catalogue, ctx.event.request):
        if len(site.path) == 1 and site.path[0] in changed:
            changed[site.path[0]] = TRICKY_JSON_TEXT
    exchange = ctx.send(ctx.deliver(changed))
    ctx.accepted(exchange, "form values with spaces, '+', '&', non-ASCII or JSON text were "
                 "refused; verify over the decoded values exactly as sent (no trimming, no "
                 "re-serializing)")
