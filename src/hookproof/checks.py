"""The check catalogue: small named functions in one registry.

Each check builds its deliveries, sends them through the :class:`Target`, and either returns
(pass), raises :class:`CheckFailure` (fail, with a severity) or :class:`NotObserved`.
``applies`` decides for which events of a provider a check is generated at all.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from hookproof import safejson
from hookproof.builder import Delivery, with_default_port
from hookproof.catalogue import Event, Provider
from hookproof.delivery import Exchange
from hookproof.errors import InputError
from hookproof.examples import (
    Example,
    InvalidExample,
    canonical_example,
    documented_examples,
    example_named,
    invalid_examples,
)
from hookproof.failures import CheckFailure, Detail, NotApplicable, NotObserved, Severity
from hookproof.signing import WireRequest
from hookproof.target import PROXY_DOWN_STATUSES, Target, TargetCrashed
from hookproof.validation import json_path
from hookproof.variants import (
    TRICKY_JSON_TEXT,
    TRICKY_TEXT,
    enum_sites,
    free_text_sites,
    has_path,
    json_text_sites,
    reserialized,
    set_path,
    sites,
    with_unknown_fields,
)

Group = Literal["signature", "payload", "response", "idempotency", "fuzz"]
GROUP_ORDER: tuple[Group, ...] = ("signature", "payload", "response", "idempotency", "fuzz")
"""The order a person fixes things in, and the order the suite runs."""
Applies = Callable[[Provider, Event, Target], bool]


@dataclass(frozen=True)
class Check:
    id: str
    group: Group
    severity: Severity
    description: str
    expectation: str
    run: Callable[[Context], None]
    applies: Applies
    per_provider: bool = False
    per_group: bool = False
    """With ``per_provider``: one case per hook group (each has its own URL and handler)."""

    @property
    def short(self) -> str:
        return self.id.split(".", 1)[1]


REGISTRY: dict[str, Check] = {}

WRONG_SECRET = "whsec_aG9va3Byb29mbm90eW91cnNlY3JldA=="
"""What a deliberately wrong signature is computed with (never anyone's real secret). It is
a valid Standard Webhooks secret too (``whsec_`` and base64), so every scheme can sign with
it."""

REFUSAL_DIAGNOSIS = (
    "the receiver cannot tell this genuine delivery from a forged one. Likely causes: a wrong "
    "secret (the variable --secret-env names), verification over another URL than the one the "
    "platform signs (behind a proxy or tunnel: --signing-url, and proxy headers the receiver "
    "trusts), a body re-serialised before verifying, or a URL that answers 4xx to everything "
    "(wrong path)")
"""Why a receiver refuses genuine deliveries as it refuses forged ones."""

_VOLATILE = re.compile(rb"[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*|[0-9]+")


def same_refusal(genuine: Exchange, forged: Exchange) -> bool:
    """Same status and the same body once volatile parts (ids, times, numbers) are set aside."""
    if genuine.status != forged.status or genuine.status is None:
        return False
    def shape(body: bytes) -> bytes:
        return _VOLATILE.sub(b"#", body.strip())
    return shape(genuine.body) == shape(forged.body)


def check(
    check_id: str,
    *,
    severity: Severity = "required",
    expectation: str,
    applies: Applies = lambda provider, event, target: True,
    per_provider: bool = False,
    per_group: bool = False,
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """Register a check function under its stable id."""

    def register(function: Callable[[Context], None]) -> Callable[[Context], None]:
        group: Any = check_id.split(".", 1)[0]
        REGISTRY[check_id] = Check(check_id, group, severity, (function.__doc__ or "").strip(),
                                   expectation, function, applies, per_provider, per_group)
        return function

    return register


@dataclass(frozen=True)
class Case:
    """One generated test: a check applied to one event (or to the provider)."""

    check: Check
    provider: Provider
    event: Event

    @property
    def grouped(self) -> bool:
        """One case of a per-group check on a provider with hook groups (event: the group's)."""
        return self.check.per_group and bool(self.provider.hook_groups)

    @property
    def scope(self) -> str:
        if self.grouped:
            return self.event.group or "provider"
        return "provider" if self.check.per_provider else self.event.name

    @property
    def event_name(self) -> str | None:
        """The event a result is recorded under (None: the provider as a whole)."""
        return None if self.check.per_provider and not self.grouped else self.event.name

    @property
    def id(self) -> str:
        return f"{self.check.short}-{self.scope}"


def cases(provider: Provider, target: Target, events: Sequence[Event],
          group: str | None = None) -> Iterator[Case]:
    """Every (check, event) pair that applies, in catalogue order."""
    for spec in REGISTRY.values():
        if group is not None and spec.group != group:
            continue
        if spec.per_provider:
            seen: set[str | None] = set()
            for event in events:
                scope = event.group if spec.per_group and provider.hook_groups else None
                if scope not in seen and spec.applies(provider, event, target):
                    seen.add(scope)
                    yield Case(spec, provider, event)
            continue
        for event in events:
            if spec.applies(provider, event, target):
                yield Case(spec, provider, event)


class Context:
    """What a check function works with: its case, the target, and ways to fail."""

    def __init__(self, case: Case, target: Target) -> None:
        self.case = case
        self.target = target
        self.provider = case.provider
        self.event = case.event
        self.builder = target.builder
        self.strict = target.settings.strict

    # -- payloads ---------------------------------------------------------------------------

    def canonical(self) -> Example:
        return canonical_example(self.provider.id, self.event.name)

    def payload(self) -> Any:
        return self.canonical().payload

    def deliver(self, payload: Any = None, **kwargs: Any) -> Delivery:
        return self.builder.build(self.event, self.payload() if payload is None else payload,
                                  **kwargs)

    def send(self, delivery: Delivery) -> Exchange:
        try:
            return self.target.send(self.case.check.id, delivery)
        except TargetCrashed as crashed:
            raise self.crashed(crashed) from None

    def send_together(self, deliveries: Sequence[Delivery]) -> list[Exchange]:
        try:
            return self.target.send_together(self.case.check.id, deliveries)
        except TargetCrashed as crashed:
            raise self.crashed(crashed) from None

    def crashed(self, crashed: TargetCrashed) -> CheckFailure:
        """The finding of a delivery the receiver stopped answering on (required)."""
        exchange = crashed.exchange
        if exchange.status in PROXY_DOWN_STATUSES:
            got = (f"HTTP {exchange.status} from a proxy in front of the receiver (the "
                   "receiver behind it is down)")
        else:
            got = exchange.error or "no answer"
        if exchange.error_kind == "raised":
            return self.fail(
                "the receiver's handler raised an exception", severity="required",
                expected="an HTTP answer", got=got, exchanges=[exchange], crash=True,
                receiver_output=crashed.output or None,
                hint=platform_hint(exchange) or "a webhook handler must catch its own errors "
                "and answer (4xx for bad input); its traceback is below")
        after = (f"; it came back after {crashed.waited:.1f} s" if crashed.back else
                 f"; it did not come back within {self.target.settings.target_wait:g} s")
        return self.fail(
            "the receiver stopped answering (crashed or closed the connection)",
            severity="required", expected="an HTTP answer", got=got + after,
            exchanges=[exchange], crash=True, receiver_output=crashed.output or None,
            exit_status=crashed.exit_status,
            hint="a webhook handler must catch its own errors and answer (4xx for bad "
            "input); run it under --target-command to see its output at the crash")

    # -- expectations -------------------------------------------------------------------------

    def fail(self, title: str, *, expected: str, got: str, exchanges: Sequence[Exchange] = (),
             severity: Severity | None = None, **extra: Any) -> CheckFailure:
        return CheckFailure(
            check=self.case.check.id, provider=self.provider.id,
            event=self.case.event_name,
            severity=severity or self.case.check.severity, title=title, expected=expected,
            got=got, exchanges=exchanges, secret_env=self.target.secret_env, **extra,
        )

    def got(self, exchange: Exchange) -> str:
        if exchange.error:
            return exchange.error
        return f"HTTP {exchange.status}"

    def accepted(self, exchange: Exchange, title: str, *,
                 classes: frozenset[str] | None = None) -> None:
        """Fail unless the answer's status class is one that accepts the event.

        A 4xx that a pre-event hook or a callback may answer is believed only when it differs
        from the receiver's answer to a forged delivery: a receiver that cannot verify (wrong
        secret, URL, proxy headers) or a URL that answers 404 refuses everything alike.
        """
        allowed = classes or self.target.accepted_classes(self.event)
        status = exchange.status_class()
        if status in allowed:
            if status == "4xx":
                self.believe_refusal(exchange, title)
            return
        expected = " or ".join(sorted(allowed))
        hint = None
        if status == "4xx" and "4xx" not in allowed:
            hint = REFUSAL_DIAGNOSIS if self.refused_like_forged(exchange) else (
                "the receiver refused a correctly signed delivery")
        elif exchange.status_class() == "5xx":
            hint = platform_hint(exchange) or (
                "the receiver crashed: a valid delivery must never cause a 5xx")
        raise self.fail(title, expected=expected, got=self.got(exchange), exchanges=[exchange],
                        hint=hint)

    def let_through(self) -> frozenset[str]:
        """What a pre-event's documented or minimal payload must get: 2xx, unless the team
        declared the event refused (``--expect EVENT=4xx``)."""
        if self.event.kind == "pre" and not self.target.refusal_declared(self.event):
            return frozenset({"2xx"})
        return self.target.accepted_classes(self.event)

    def refused_like_forged(self, exchange: Exchange) -> bool:
        """Whether ``exchange`` (a 4xx) is the answer the receiver gives a forged delivery."""
        try:
            forged = self.target.forged_answer(
                self.case.check.id, self.event,
                lambda: self.builder.build(self.event, self.payload(), secret=WRONG_SECRET))
        except TargetCrashed as crashed:
            raise self.crashed(crashed) from None
        return same_refusal(exchange, forged)

    def believe_refusal(self, exchange: Exchange, title: str) -> None:
        """Fail (required) when a refusal cannot be told from the refusal of a forgery."""
        if self.target.refusal_declared(self.event) or not self.refused_like_forged(exchange):
            return
        raise self.fail(
            f"{title}: refused exactly as a forged delivery is", severity="required",
            expected="2xx, or a deliberate refusal that differs from the answer to a forged "
            "delivery (or declare it: --expect " + self.event.name + "=4xx)",
            got=f"{self.got(exchange)}, the same answer a delivery signed with another secret "
            "gets", exchanges=[exchange], hint=REFUSAL_DIAGNOSIS)

    def rejected(self, exchange: Exchange, title: str, *, hint: str | None = None) -> None:
        """Fail unless the answer is a 4xx (a refusal), as for a forged request."""
        if exchange.status_class() == "4xx":
            return
        raise self.fail(title, expected="4xx", got=self.got(exchange), exchanges=[exchange],
                        hint=hint)


def platform_hint(exchange: Exchange) -> str | None:
    """Why a handler that failed may have failed: a call it made to the platform's API that
    failed or was not stubbed (in-process targets record every such call)."""
    failed = exchange.failed_platform_calls
    if not failed:
        return None
    call = failed[0]
    if call.stubbed:
        cause = ("the platform stub answered it so (an unknown resource answers 404, as the "
                 "platform would)")
    elif call.error and call.error.startswith("blocked"):
        cause = ("it is not the platform's API, and nothing leaves this machine while the suite "
                 "runs: unstubbed platform call")
    else:
        cause = ("the platform stub is off (--no-platform-stub), so the call went to the "
                 "network: failed platform call")
    return (f"the handler's call to the platform failed ({call.describe()}): {cause}. A "
            "webhook handler must answer even when a call it makes fails (answer, then retry "
            "the call)")


# -- applicability -----------------------------------------------------------------------------


def _port_variants(provider: Provider, event: Event, target: Target) -> bool:
    # the scheme says: Twilio may sign the URL with or without its default port
    return bool(target.builder.scheme.port_variants)


def _signs_url(provider: Provider, event: Event, target: Target) -> bool:
    # the scheme says (Varda and Standard Webhooks sign the body and a timestamp only)
    return bool(target.builder.scheme.signs_url)


def _body_hash(provider: Provider, event: Event, target: Target) -> bool:
    return bool(target.builder.scheme.body_hash)


def _timestamped(provider: Provider, event: Event, target: Target) -> bool:
    return provider.replay_window is not None


def _repeatable_site(provider: Provider, event: Event) -> tuple[str, ...] | None:
    engine_catalogue = _catalogue()
    for site in sites(engine_catalogue, event.request):
        types = site.schema.get("type")
        if len(site.path) == 1 and isinstance(types, list) and "array" in types:
            return site.path
    return None


def _repeated_keys(provider: Provider, event: Event, target: Target) -> bool:
    return provider.transport.encoding == "form" and _repeatable_site(provider, event) is not None


def _has_documented(provider: Provider, event: Event, target: Target) -> bool:
    return bool(documented_examples(provider.id, event.name))


def _has_minimal(provider: Provider, event: Event, target: Target) -> bool:
    return example_named(provider.id, event.name, "minimal") is not None


def _has_nulls(provider: Provider, event: Event, target: Target) -> bool:
    return example_named(provider.id, event.name, "maximal-nulls") is not None


def _has_enums(provider: Provider, event: Event, target: Target) -> bool:
    payload = canonical_example(provider.id, event.name).payload
    return any(has_path(payload, s.path) for s in enum_sites(_catalogue(), event.request))


def _missing_required_example(provider: Provider, event: Event) -> InvalidExample | None:
    event_fields = set(provider.event_fields)
    for example in invalid_examples(provider.id, event.name):
        if example.rule != "required":
            continue
        dotted = example.path.removeprefix("$.").replace("['", ".").replace("']", "")
        if dotted not in event_fields:
            return example
    return None


def _has_missing_required(provider: Provider, event: Event, target: Target) -> bool:
    return _missing_required_example(provider, event) is not None


def _posts(provider: Provider, event: Event, target: Target) -> bool:
    return target.builder.method != "GET"


def _responds(provider: Provider, event: Event, target: Target) -> bool:
    return event.response is not None


def _named_events(provider: Provider, event: Event, target: Target) -> bool:
    return bool(provider.event_fields) and provider.event_name_of(
        canonical_example(provider.id, event.name).payload) is not None


def _catalogue() -> Any:
    from hookproof.catalogue import load_catalogue

    return load_catalogue()


# -- signature ----------------------------------------------------------------------------------


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


@check("signature.tampered_body_rejected", expectation="4xx")
def tampered_body_rejected(ctx: Context) -> None:
    """A delivery whose body changed after signing is refused."""
    payload = ctx.payload()
    delivery = ctx.deliver(payload)
    tampered_payload = _tamper(ctx, payload)
    body = ctx.builder.body_of(tampered_payload)
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


def malformed_headers(ctx: Context, delivery: Delivery) -> list[tuple[str, WireRequest]]:
    """The delivery with its signature (and timestamp) headers broken in every way a parser
    meets in the wild: each variant named."""
    scheme = ctx.builder.scheme
    request = delivery.request
    name = scheme.header
    value = request.header(name) or ""
    forged = ctx.deliver(delivery.payload, secret=WRONG_SECRET, dedupe_key=delivery.dedupe_key)
    wrong = forged.request.header(name) or "x"
    signature_values = {
        "empty": "",
        "garbage": "garbage",
        "truncated": value[: len(value) // 2],
        "wrong length": value + value[-2:],
        "not hex or base64": "!" * len(value),
        "duplicated (two values, as a proxy folds repeated headers)": f"{wrong}, {wrong}",
        "over-long (5,000 characters)": (wrong + "A" * 5000)[:5000],
    }
    variants = [(f"{name} {kind}", request.with_headers({name: text}))
                for kind, text in signature_values.items()]
    stamp_header = getattr(scheme, "timestamp_header", None)
    stamps = {"not a number": "garbage", "empty": "", "negative": "-1",
              "5,000 digits": "9" * 5000}
    if isinstance(stamp_header, str):
        variants += [(f"{stamp_header} {kind}", request.with_headers({stamp_header: text}))
                     for kind, text in stamps.items()]
    elif re.search(r"(?:^|,)t=\d+", value):
        variants += [(f"{name} t= {kind}",
                      request.with_headers({name: re.sub(r"(^|,)t=\d+", rf"\g<1>t={text}",
                                                          value)}))
                     for kind, text in stamps.items()]
    return variants


@check("signature.malformed_header_rejected", expectation="4xx for each variant, never 5xx",
       per_provider=True)
def malformed_header_rejected(ctx: Context) -> None:
    """Garbage, truncated, wrong-length, non-hex/base64, empty, duplicated and over-long
    signature (and timestamp) headers are refused with a 4xx, never a crash."""
    delivery = ctx.deliver()
    failing: list[tuple[str, Exchange]] = []
    for label, request in malformed_headers(ctx, delivery):
        exchange = ctx.send(_replace(delivery, request))
        if exchange.status_class() != "4xx":
            failing.append((label, exchange))
    if not failing:
        return
    label, exchange = next(((v, e) for v, e in failing if e.status_class() == "2xx"), failing[0])
    accepted = exchange.status_class() == "2xx"
    raise ctx.fail(
        f"a delivery with a malformed signature header ({label}) was "
        + ("accepted" if accepted else "not refused cleanly"),
        expected="4xx", got=ctx.got(exchange), exchanges=[exchange],
        details=[Detail(v, "4xx", ctx.got(e)) for v, e in failing if v != label],
        hint="parse the signature header defensively (bounded length, digits, hex/base64) and "
        "answer 400/403 before any other work" if not accepted else
        "a malformed signature must never verify: compare the full computed signature")


@check("signature.body_hash_mismatch_rejected", expectation="4xx", applies=_body_hash)
def body_hash_mismatch_rejected(ctx: Context) -> None:
    """Twilio JSON: the URL signature is right but the body does not match bodySHA256."""
    payload = ctx.payload()
    delivery = ctx.deliver(payload)
    request = delivery.request.with_body(ctx.builder.body_of(_tamper(ctx, payload)))
    exchange = ctx.send(_replace(delivery, request))
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


# -- payload ----------------------------------------------------------------------------------


@check("payload.documented_example_accepted",
       expectation="2xx (pre-events too, unless declared refused with --expect)",
       applies=_has_documented)
def documented_example_accepted(ctx: Context) -> None:
    """The platform's documented example, byte for byte, is accepted."""
    for example in documented_examples(ctx.provider.id, ctx.event.name):
        delivery = ctx.deliver(example.payload, body=example.raw)
        ctx.accepted(ctx.send(delivery), f"the documented example {example.name} was not "
                     "accepted", classes=ctx.let_through())


@check("payload.minimal_accepted",
       expectation="2xx (pre-events too, unless declared refused with --expect)",
       applies=_has_minimal)
def minimal_accepted(ctx: Context) -> None:
    """A payload with only the required fields is accepted."""
    example = example_named(ctx.provider.id, ctx.event.name, "minimal")
    assert example is not None
    ctx.accepted(ctx.send(ctx.deliver(example.payload)),
                 "a payload with only the required fields was not accepted",
                 classes=ctx.let_through())


@check("payload.unknown_fields_tolerated", expectation="2xx")
def unknown_fields_tolerated(ctx: Context) -> None:
    """Extra fields and an undocumented enum value (what a platform adds later) are accepted."""
    payload = with_unknown_fields(ctx.payload(), ctx.provider.transport.encoding,
                                  ctx.provider.extra_parameters)
    for site in enum_sites(_catalogue(), ctx.event.request):
        if has_path(payload, site.path) and all(isinstance(v, str) for v in site.schema["enum"]):
            payload = set_path(payload, site.path, "HOOKPROOF_UNDOCUMENTED")
            break
    ctx.accepted(ctx.send(ctx.deliver(payload)),
                 "a payload with fields or enum values the contract does not list was refused; "
                 "tolerate them (platforms add fields without notice)")


@check("payload.enum_values_accepted", expectation="2xx", applies=_has_enums)
def enum_values_accepted(ctx: Context) -> None:
    """Every documented value of every closed enum is accepted."""
    base = ctx.payload()
    present = [s for s in enum_sites(_catalogue(), ctx.event.request) if has_path(base, s.path)]
    rounds = max(len(s.schema["enum"]) for s in present)
    for index in range(rounds):
        payload = base
        chosen = []
        for site in present:
            values = site.schema["enum"]
            value = values[index % len(values)]
            payload = set_path(payload, site.path, value)
            chosen.append(f"{json_path(p for p in site.path if p != '*')}={value!r}")
        exchange = ctx.send(ctx.deliver(payload))
        ctx.accepted(exchange, "a documented enum value was refused: " + ", ".join(chosen))


@check("payload.nullable_fields_accepted", expectation="2xx", applies=_has_nulls)
def nullable_fields_accepted(ctx: Context) -> None:
    """Null wherever the contract allows null is accepted."""
    example = example_named(ctx.provider.id, ctx.event.name, "maximal-nulls")
    assert example is not None
    ctx.accepted(ctx.send(ctx.deliver(example.payload)),
                 "a payload with null in every nullable field was refused")


@check("payload.missing_required_handled", expectation="4xx (never 5xx; 2xx is recommended-level)",
       applies=_has_missing_required)
def missing_required_handled(ctx: Context) -> None:
    """A signed payload missing a required field is refused cleanly, never a crash."""
    example = _missing_required_example(ctx.provider, ctx.event)
    assert example is not None
    exchange = ctx.send(ctx.deliver(example.payload))
    status = exchange.status_class()
    if status == "4xx":
        return
    if status == "2xx":
        raise ctx.fail(f"a payload without {example.path} was accepted", expected="4xx",
                       got=ctx.got(exchange), exchanges=[exchange], severity="recommended",
                       json_path=example.path,
                       hint="validate deliveries against the contract and answer 4xx")
    raise ctx.fail(f"a payload without {example.path} was not handled", expected="4xx",
                   got=ctx.got(exchange), exchanges=[exchange], json_path=example.path,
                   hint="a missing field must not crash the receiver")


@check("payload.malformed_body_handled", expectation="4xx, never 5xx", applies=_posts)
def malformed_body_handled(ctx: Context) -> None:
    """A signed body that does not parse is refused with a 4xx, never a crash."""
    raw = ctx.builder.body_of(ctx.payload())
    if ctx.provider.transport.encoding == "json":
        body = raw[: max(1, len(raw) // 2)]
    else:
        body = raw + b"&Body=%E0%A4%A&%FF%FE=%C3%28"
    exchange = ctx.send(ctx.deliver(ctx.payload(), body=body))
    status = exchange.status_class()
    if status == "4xx":
        return
    raise ctx.fail("a malformed body was " + ("accepted" if status == "2xx" else "not handled"),
                   expected="4xx", got=ctx.got(exchange), exchanges=[exchange],
                   severity="recommended" if status == "2xx" else "required",
                   hint="parse defensively and answer 400 to a body that does not parse")


@check("payload.unknown_event_handled",
       expectation="not 5xx (2xx recommended; callbacks: 4xx fine)",
       applies=_named_events, per_provider=True, per_group=True)
def unknown_event_handled(ctx: Context) -> None:
    """An event type the platform may add later does not crash the receiver."""
    payload = ctx.payload()
    field = next(f for f in ctx.provider.event_fields
                 if ctx.provider.event_name_of({f.split(".")[0]: payload.get(f.split(".")[0])}))
    new_name = future_event_name(ctx.provider, ctx.event)
    payload = set_path(payload, tuple(field.split(".")), new_name)
    exchange = ctx.send(ctx.builder.build(ctx.event, payload, event_header=new_name))
    status = exchange.status_class()
    if status == "2xx" or (status == "4xx" and ctx.event.kind == "callback"):
        return
    if status == "4xx":
        raise ctx.fail(f"an unknown event type {new_name!r} was refused", expected="2xx",
                       got=ctx.got(exchange), exchanges=[exchange], severity="recommended",
                       hint="acknowledge events you do not handle (2xx) so the platform does "
                       "not retry or disable the endpoint")
    raise ctx.fail(f"an unknown event type {new_name!r} crashed the receiver",
                   expected="not 5xx (2xx recommended)", got=ctx.got(exchange),
                   exchanges=[exchange])


def future_event_name(provider: Provider, event: Event) -> str:
    """A plausible event name in the platform's own style that it does not send (yet): the
    manifest's (per hook group, then per provider), else one made in the style of
    ``event``'s name (``a.b`` -> ``a.archived``, ``A_B`` -> ``A_ARCHIVED``)."""
    named = provider.unknown_events.get(event.group or "") or provider.unknown_event
    if named:
        return named
    name = event.name
    if "." in name:
        return name.split(".")[0] + ".archived"
    if name.isupper():
        return name.split("_")[0] + "_ARCHIVED"
    return name + "Archived"


# -- response ---------------------------------------------------------------------------------


@check("response.prehook_shape", expectation="status and body match the response contract",
       applies=_responds)
def prehook_shape(ctx: Context) -> None:
    """Every response-bearing hook answers in the shape the platform obeys."""
    exchange = ctx.send(ctx.deliver())
    check_answer(ctx, exchange)


def check_answer(ctx: Context, exchange: Exchange) -> None:
    """Judge the answer of a response-bearing hook, severity following the platform's docs.

    Documented rules are required: a 2xx (or a believed 4xx refusal), a JSON body valid
    against the response contract, or no body where the contract asks for nothing. Where the
    docs are silent the finding is recommended: a text body such as ``OK`` where nothing is
    changed, a ``Content-Type`` other than ``application/json``, a 2xx other than 200.
    """
    status = exchange.status_class()
    if status == "4xx" and "4xx" in ctx.target.accepted_classes(ctx.event):
        ctx.believe_refusal(exchange, "the hook's answer")
        return  # a deliberate rejection is a valid answer
    if status != "2xx":
        raise ctx.fail("the hook's answer is not a success", expected="200 with the contract's "
                       "body" + (" (or a 4xx rejection)" if ctx.event.rejectable else ""),
                       got=ctx.got(exchange), exchanges=[exchange])
    body = exchange.body.strip()
    if exchange.truncated:
        raise ctx.fail("the hook's answer is longer than hookproof reads",
                       expected=f"a JSON body per the contract (at most "
                       f"{ctx.target.settings.max_answer} bytes are read)",
                       got=f"HTTP {exchange.status} with a longer body (its start is shown)",
                       exchanges=[exchange],
                       hint="answer the small JSON object the contract describes; raise "
                       "--hookproof-max-answer only if the platform takes such answers")
    changes_nothing_ok = ctx.event.empty_response_ok or _empty_answer_valid(ctx)
    if not body and not changes_nothing_ok:
        raise ctx.fail("the hook's answer is empty", expected="a JSON body per the contract",
                       got=f"HTTP {exchange.status}, no body", exchanges=[exchange])
    if body:
        _check_answer_body(ctx, exchange, body, changes_nothing_ok)
    if exchange.status != 200:
        raise ctx.fail("the answer's status is not 200", expected="200",
                       got=f"HTTP {exchange.status}", exchanges=[exchange],
                       severity="recommended",
                       hint="the platform documents 200; other 2xx codes are not documented")


def _empty_answer_valid(ctx: Context) -> bool:
    """The response contract asks for nothing: ``{}`` (every modifiable field optional)."""
    if ctx.event.response is None:
        return True
    return not ctx.target.engine.validator(ctx.event.response).validate({}).errors


def _check_answer_body(ctx: Context, exchange: Exchange, body: bytes,
                       changes_nothing_ok: bool) -> None:
    try:
        document = safejson.loads(body, what="the answer")
    except InputError as exc:
        if "nested too deeply" in str(exc):
            raise ctx.fail("the hook's answer is nested too deeply",
                           expected="a JSON body per the contract", got=str(exc),
                           exchanges=[exchange]) from None
        raise ctx.fail(
            "the hook's answer is not JSON", expected="a JSON body per the contract"
            + (" (or an empty body or {} to change nothing)" if changes_nothing_ok else ""),
            got=f"HTTP {exchange.status}, body {body[:80].decode('utf-8', 'replace')}",
            exchanges=[exchange], severity="recommended" if changes_nothing_ok else "required",
            hint=("the platform documents 200 with an empty body or {} for \"change nothing\" "
                  "and is silent on a text body; answer {} (or nothing) to be safe")
            if changes_nothing_ok else None) from None
    from hookproof.validation import validate_response

    result = validate_response(document, provider=ctx.provider.id, event=ctx.event.name)
    if result.errors:
        first = result.errors[0]
        raise ctx.fail(
            "the hook's answer does not match the response contract (the platform ignores "
            "or rejects it)",
            expected="a body valid against " + (ctx.event.response or "").rsplit("/", 2)[-2]
            + "/" + (ctx.event.response or "").rsplit("/", 1)[-1],
            got=first.message, json_path=first.path, schema_path=first.schema_path,
            exchanges=[exchange],
            details=[Detail(f.message, "per contract", "this", f.path, f.schema_path)
                     for f in result.errors[1:]],
        )
    content_type = next((v for k, v in exchange.headers.items()
                         if k.lower() == "content-type"), "")
    if "application/json" not in content_type.lower():
        raise ctx.fail("the answer is not labelled application/json", expected="Content-Type: "
                       "application/json", got=f"Content-Type: {content_type or '(none)'}",
                       exchanges=[exchange], severity="recommended")


@check("response.within_budget", expectation="answered inside the platform's timeout")
def within_budget(ctx: Context) -> None:
    """Every delivery is answered inside the platform's time budget."""
    exchange = ctx.send(ctx.deliver())
    budget = ctx.target.budget(ctx.event)
    if exchange.error_kind == "timeout" or exchange.elapsed > budget:
        raise ctx.fail(f"the answer took longer than the {budget:g} s budget",
                       expected=f"an answer within {budget:g} s",
                       got=exchange.error or f"{exchange.elapsed:.3f} s", exchanges=[exchange],
                       hint="answer first, process asynchronously (the platform gives up, "
                       "and may retry, after the budget)")


# -- idempotency --------------------------------------------------------------------------------


def _same_answer(ctx: Context, exchanges: Sequence[Exchange]) -> None:
    first = exchanges[0]
    for other in exchanges[1:]:
        if other.status_class() != first.status_class():
            raise ctx.fail("a redelivery got another answer", expected=ctx.got(first),
                           got=ctx.got(other), exchanges=[other])
        if ctx.event.response is not None and first.status_class() == "2xx":
            try:
                same = (safejson.loads(first.body or b"{}")
                        == safejson.loads(other.body or b"{}"))
            except InputError:
                same = first.body == other.body
            if not same:
                raise ctx.fail("a redelivery of a response-bearing hook got another answer",
                               expected=first.body[:200].decode("utf-8", "replace"),
                               got=other.body[:200].decode("utf-8", "replace"),
                               exchanges=[other])


def _one_effect(ctx: Context, delivery: Delivery, exchanges: Sequence[Exchange],
                sent: int) -> None:
    probe = ctx.target.effects
    if not probe.available:
        raise NotObserved("the answers were right, but whether the delivery was processed "
                          "once is not observed: give --effects-url or implement "
                          "pytest_hookproof_effects", exchanges)
    # a pre-event or callback refused every time (a legitimate answer) may have had no effect
    refused = bool(exchanges) and exchanges[0].status_class() == "4xx"
    wait = 0.0 if refused else ctx.target.settings.effects_wait
    count = probe.settled_count(ctx.provider.id, ctx.event.name, delivery.dedupe_key, wait)
    if count is None:
        raise NotObserved("the effects probe could not tell for this delivery", exchanges)
    if count in ((0, 1) if refused else (1,)):
        return
    if count == 0:
        raise ctx.fail(f"{sent} accepted copies of one delivery were never processed",
                       expected="processed once", got=f"processed 0 times within {wait:g} s",
                       exchanges=list(exchanges)[-1:],
                       hint="the receiver answered 2xx but the probe saw no effect: is the "
                       "work queued and failing, slower than --effects-wait, or counted under "
                       f"another key than {ctx.provider.dedupe_header}?")
    raise ctx.fail(f"{sent} copies of one delivery were processed {count} times",
                   expected="processed once", got=f"processed {count} times",
                   exchanges=list(exchanges)[-1:],
                   hint=f"dedupe on {ctx.provider.dedupe_header} with a unique constraint "
                   "(insert first, then act), not on the body or the signature (a retry is "
                   "signed anew, with a later timestamp)")


RETRY_AFTER_SECONDS = 5
"""How much later than the first attempt a retry is signed (inside every replay window)."""


@check("idempotency.sequential_duplicate", expectation="both accepted, same answer, one effect")
def sequential_duplicate(ctx: Context) -> None:
    """The same delivery twice (re-signed as a real retry is) is processed once."""
    # the first attempt was signed a little earlier: the retry carries a later timestamp and
    # a new signature (and the next RetryCount where the platform sends one), as real ones do
    first = ctx.deliver(now_at_most=int(time.time()) - RETRY_AFTER_SECONDS)
    retry = ctx.builder.retry(first)
    exchanges = [ctx.send(first), ctx.send(retry)]
    for exchange in exchanges:
        ctx.accepted(exchange, "a delivery or its redelivery was not accepted")
    _same_answer(ctx, exchanges)
    _one_effect(ctx, first, exchanges, 2)


@check("idempotency.concurrent_duplicates", expectation="all accepted, one effect")
def concurrent_duplicates(ctx: Context) -> None:
    """The same delivery N times at once is processed once."""
    delivery = ctx.deliver()
    copies = [delivery] * ctx.target.settings.concurrency
    exchanges = ctx.send_together(copies)
    for exchange in exchanges:
        ctx.accepted(exchange, "one of several simultaneous copies was not accepted")
    _same_answer(ctx, exchanges)
    _one_effect(ctx, delivery, exchanges, len(copies))


# -- fuzz -------------------------------------------------------------------------------------


def _fuzzing(provider: Provider, event: Event, target: Target) -> bool:
    return int(getattr(target.settings, "fuzz_examples", 0)) > 0


def _judge_accepted(ctx: Context, exchange: Exchange) -> None:
    if ctx.event.response is not None:
        check_answer(ctx, exchange)
        return
    ctx.accepted(exchange, "a schema-valid generated payload was not accepted")


def _judge_handled(ctx: Context, exchange: Exchange) -> None:
    if exchange.status is not None and exchange.status < 500 and not exchange.error:
        return
    raise ctx.fail("a schema-invalid generated payload crashed the receiver",
                   expected="not 5xx (4xx: refuse what breaks the contract)",
                   got=ctx.got(exchange), exchanges=[exchange],
                   hint="validate before use and answer 4xx; never let bad input reach a 5xx")


@check("fuzz.generated_accepted",
       expectation="2xx (pre-events and callbacks: 2xx or 4xx; answers in the contract's shape)",
       applies=_fuzzing)
def generated_accepted(ctx: Context) -> None:
    """Schema-valid payloads generated from the contract are accepted (shrunk on failure)."""
    from hookproof.fuzz import fuzz

    fuzz(ctx, "positive", _judge_accepted)


@check("fuzz.invalid_handled", expectation="never 5xx", applies=_fuzzing)
def invalid_handled(ctx: Context) -> None:
    """Schema-invalid generated payloads never crash the receiver (shrunk on failure)."""
    from hookproof.fuzz import fuzz

    fuzz(ctx, "negative", _judge_handled)


# -- helpers ------------------------------------------------------------------------------------


def _replace(delivery: Delivery, request: Any) -> Delivery:
    from dataclasses import replace

    return replace(delivery, request=request)


def _with_severity(failure: CheckFailure, severity: Severity) -> CheckFailure:
    return failure.evolve(severity=severity)


def _tamper(ctx: Context, payload: Any) -> Any:
    """The payload with one value changed (a leaf that is not the event name).

    The change is chosen so that the tampered payload still honours the contract (no error, no
    drift), so that only the signature can give it away. (Appending "-tampered" to the first
    string, often an id with a pattern or a timestamp, let a receiver that never compares
    signatures pass: it refused the payload with a 400 as invalid, not as forged.)
    """
    skip = set(ctx.provider.event_fields)
    validator = ctx.target.engine.validator(ctx.event.request)

    def leaves(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from leaves(value, (*path, index))
        elif ".".join(str(p) for p in path if not isinstance(p, int)) not in skip:
            yield path, node

    def changed(value: Any) -> list[Any]:
        if isinstance(value, bool):
            return [not value]
        if isinstance(value, int | float):
            return [value + 1]
        if isinstance(value, str) and value:
            last = "1" if value[-1] != "1" else "2"
            return [f"{value}-tampered", f"{value[:-1]}{last}", f"{value}0"]
        return []

    for path, value in leaves(payload, ()):
        for candidate in changed(value):
            tampered = copy.deepcopy(payload)
            node = tampered
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = candidate
            result = validator.validate(tampered)
            if not result.errors and not result.drift:
                return tampered
    if isinstance(payload, dict):
        return {**payload, "tampered": "1"}
    return payload


def run(case: Case, target: Target) -> None:
    """Run one case."""
    case.check.run(Context(case, target))


__all__ = ["REGISTRY", "Case", "Check", "Context", "cases", "check", "run"]
