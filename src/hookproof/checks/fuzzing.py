"""The fuzz checks: payloads generated from the contracts, accepted when valid, survived when
not."""

from __future__ import annotations

from hookproof.catalogue import Event, Provider
from hookproof.checks.base import (
    Context,
    check,
)
from hookproof.checks.response import check_answer
from hookproof.reach.target import Target
from hookproof.transport.client import Exchange


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
    from hookproof.checks.generation import fuzz

    fuzz(ctx, "positive", _judge_accepted)


@check("fuzz.invalid_handled", expectation="never 5xx", applies=_fuzzing)
def invalid_handled(ctx: Context) -> None:
    """Schema-invalid generated payloads never crash the receiver (shrunk on failure)."""
    from hookproof.checks.generation import fuzz

    fuzz(ctx, "negative", _judge_handled)
