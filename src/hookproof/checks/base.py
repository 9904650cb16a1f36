"""The check registry, the case and context every check runs with, the judges they share,
and the predicates that decide for which events a check applies."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.examples import (
    Example,
    InvalidExample,
    canonical_example,
    documented_examples,
    example_named,
    invalid_examples,
)
from hookproof.catalogue.variants import (
    enum_sites,
    has_path,
    sites,
)
from hookproof.checks.failures import CheckFailure, Severity
from hookproof.reach.builder import Delivery
from hookproof.reach.target import PROXY_DOWN_STATUSES, Target, TargetCrashed
from hookproof.transport.client import Exchange

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
        ended = crashed.exit_status or ""
        if crashed.back:
            after = f"; it came back after {crashed.waited:.1f} s"
        elif "not restarted" in ended:  # the real reason, not a wait that could not succeed
            after = "; " + ended[ended.index("not restarted"):]
        else:
            after = f"; it did not come back within {self.target.settings.target_wait:g} s"
        if self.target.managed is None:
            where = "; run it under --target-command to see its output at the crash"
        elif crashed.output:
            where = "; its output at the crash is below"
        else:
            where = "; it printed nothing at the crash (its whole output: receiver.log)"
        return self.fail(
            "the receiver stopped answering (crashed or closed the connection)",
            severity="required", expected="an HTTP answer", got=got + after,
            exchanges=[exchange], crash=True, receiver_output=crashed.output or None,
            exit_status=crashed.exit_status,
            hint="a webhook handler must catch its own errors and answer (4xx for bad "
            "input)" + where)

    # -- expectations -------------------------------------------------------------------------

    def fail(self, title: str, *, expected: str, got: str, exchanges: Sequence[Exchange] = (),
             severity: Severity | None = None, **extra: Any) -> CheckFailure:
        last = exchanges[-1] if exchanges else None
        if last is not None and (last.error or last.status_class() == "5xx"):
            # a handler that failed after a failed call to the platform's API: that call is
            # the likeliest cause, whatever the check's own advice
            cause = platform_hint(last)
            if cause and cause not in str(extra.get("hint") or ""):
                advice = extra.get("hint")
                extra["hint"] = cause + (f"; and: {advice}" if advice else "")
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
    return bool(target.builder.scheme.capabilities.port_variants)


def _signs_url(provider: Provider, event: Event, target: Target) -> bool:
    # the scheme says (Varda and Standard Webhooks sign the body and a timestamp only)
    return bool(target.builder.scheme.capabilities.signs_url)


def _body_hash(provider: Provider, event: Event, target: Target) -> bool:
    return bool(target.builder.scheme.capabilities.body_hash)


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
    # a header that names the event can always name another; a body field only where the
    # event's payload has it
    return provider.header_names_event() or (bool(provider.event_fields) and provider.event_name_of(
        canonical_example(provider.id, event.name).payload) is not None)


def _catalogue() -> Any:
    from hookproof.catalogue import load_catalogue

    return load_catalogue()



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
            if validator.is_clean(tampered):  # no error, no drift (the fast path)
                return tampered
    if isinstance(payload, dict):
        return {**payload, "tampered": "1"}
    return payload


def run(case: Case, target: Target) -> None:
    """Run one case."""
    case.check.run(Context(case, target))


__all__ = ["REGISTRY", "Case", "Check", "Context", "cases", "check", "run"]
