"""The payload checks: documented, minimal, nullable, enum-valued and extended payloads accepted;
missing, malformed and unknown ones handled."""

from __future__ import annotations

from typing import Any

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.examples import (
    documented_examples,
    example_named,
)
from hookproof.catalogue.validation import json_path
from hookproof.catalogue.variants import (
    enum_sites,
    has_path,
    set_path,
    with_unknown_fields,
)
from hookproof.checks.base import (
    Context,
    _catalogue,
    _has_documented,
    _has_enums,
    _has_minimal,
    _has_missing_required,
    _has_nulls,
    _missing_required_example,
    _named_events,
    _posts,
    check,
)


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
    """Every documented value of every closed enum is accepted, where the contract allows it
    in the payload sent (GitHub's ``conclusion: null`` is no value for a completed job)."""
    base = ctx.payload()
    present = [s for s in enum_sites(_catalogue(), ctx.event.request) if has_path(base, s.path)]
    validator = ctx.target.engine.validator(ctx.event.request)

    def allowed(payload: Any) -> bool:
        # the fast yes/no first; a payload with drift only (a documented example's) is fine
        return validator.is_clean(payload) or not validator.validate(payload).errors

    rounds = max(len(s.schema["enum"]) for s in present)
    sent: set[tuple[Any, ...]] = set()
    for index in range(rounds):
        payload = base
        chosen = []
        for site in present:
            values = site.schema["enum"]
            value = values[index % len(values)]
            candidate = set_path(payload, site.path, value)
            # a value the schema ties to others (allOf/if-then, oneOf branches) is left out
            # of this round rather than sent in a payload the contract itself forbids
            if candidate != payload and not allowed(candidate):
                continue
            payload = candidate
            chosen.append(f"{json_path(p for p in site.path if p != '*')}={value!r}")
        key = tuple(chosen)
        if not chosen or key in sent:
            continue
        sent.add(key)
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
    new_name = future_event_name(ctx.provider, ctx.event)
    payload, header_value = named_as(ctx.provider, ctx.payload(), new_name)
    exchange = ctx.send(ctx.builder.build(ctx.event, payload, event_header=header_value))
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


def named_as(provider: Provider, payload: Any, name: str) -> tuple[Any, str]:
    """``payload`` and the event-name header's value, naming the event ``name`` the way the
    provider's naming rule does (the body field, the header, or both)."""
    value = provider.field_value_of(name)
    for dotted in provider.event_fields:
        path = tuple(dotted.split("."))
        if value is not None and has_path(payload, path):
            payload = set_path(payload, path, value)
            break
    return payload, provider.event_header_value(name)


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
    if name.islower():  # GitHub's push, ping, pull_request
        return name + "_archived"
    return name + "Archived"
