"""The idempotency checks: a redelivery, in sequence or at once, processed once with the same
answer."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hookproof import safejson
from hookproof.checks.base import (
    Context,
    check,
)
from hookproof.checks.failures import NotObserved
from hookproof.errors import InputError
from hookproof.reach.builder import Delivery
from hookproof.transport.client import Exchange


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
