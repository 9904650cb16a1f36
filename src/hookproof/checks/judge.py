"""The suite's rules applied to one exchange made outside a check: ``hookproof send`` and the
``hookproof_deliver`` fixture judge with these, so a delivery is never graded two ways."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hookproof.catalogue import Event, Provider
from hookproof.checks.base import REGISTRY, Case, Context
from hookproof.checks.idempotency import _same_answer
from hookproof.checks.response import check_answer, check_budget
from hookproof.transport.client import Exchange


class Judge:
    """The suite's rules for one event, applied to exchanges that ``send`` made itself."""

    def __init__(self, provider: Provider, event: Event, target: Any) -> None:
        self.provider = provider
        self.event = event
        self.target = target

        def context(check_id: str) -> Any:
            return Context(Case(REGISTRY[check_id], provider, event), target)

        self.context = context

    def _budget(self, exchange: Exchange) -> None:
        check_budget(self.context("response.within_budget"), exchange)

    def accepted(self, exchange: Exchange) -> str:
        """Judge a correctly signed delivery; the conforming verdict, or CheckFailure."""
        if self.event.response is not None:
            ctx = self.context("response.prehook_shape")
            check_answer(ctx, exchange)
        else:
            ctx = self.context("signature.valid_accepted")
            ctx.accepted(exchange, "the platform would count this delivery as failed")
        self._budget(exchange)
        allowed = " or ".join(sorted(self.target.accepted_classes(self.event)))
        if exchange.status_class() == "4xx":
            return (f"HTTP {exchange.status}: a refusal, which {self.provider.id} allows "
                    f"{self.event.name} to answer (expected {allowed})")
        if self.event.response is not None:
            contract = (self.event.response or "").rsplit("/", 2)
            return (f"HTTP {exchange.status}, the body matches the response contract "
                    f"{contract[-2]}/{contract[-1]}")
        return f"HTTP {exchange.status} is what the platform expects ({allowed})"

    def rejected(self, exchange: Exchange, *, stale: bool) -> str:
        """Judge a delivery the receiver must refuse (wrong secret, stale timestamp)."""
        if stale:
            ctx = self.context("signature.stale_timestamp_rejected")
            window = self.provider.replay_window
            seconds = window.seconds if window else 0
            ctx.rejected(exchange, "a delivery timestamped outside the replay window was "
                         "accepted", hint=f"reject timestamps older than {seconds} s")
            return (f"HTTP {exchange.status}: the receiver refused the stale delivery, as it "
                    "should (expected 4xx)")
        ctx = self.context("signature.wrong_secret_rejected")
        ctx.rejected(exchange, "a delivery signed with another secret was accepted",
                     hint="compare the computed signature with the received one, in "
                     "constant time")
        return (f"HTTP {exchange.status}: the receiver refused the wrongly signed delivery, as "
                "it should (expected 4xx)")

    def refused(self, exchange: Exchange, defect: str) -> str:
        """Judge a delivery whose signature did not verify when it was recorded (``defect``:
        ``missing``, ``stale``, or why else it did not verify): the receiver must refuse it,
        as the check for that defect requires."""
        if defect == "stale":
            return self.rejected(exchange, stale=True)
        if defect == "missing":
            ctx = self.context("signature.missing_rejected")
            ctx.rejected(exchange, "an unsigned delivery was accepted",
                         hint=f"reject requests without {ctx.builder.scheme.header}")
            return (f"HTTP {exchange.status}: the receiver refused the unsigned delivery, as it "
                    "should (expected 4xx)")
        ctx = self.context("signature.wrong_secret_rejected")
        ctx.rejected(exchange, f"a delivery whose signature did not verify ({defect}) was "
                     "accepted", hint="compare the computed signature with the received one, "
                     "in constant time")
        return (f"HTTP {exchange.status}: the receiver refused the delivery whose signature did "
                f"not verify ({defect}), as it should (expected 4xx)")

    def agree(self, exchanges: Sequence[Exchange]) -> None:
        _same_answer(self.context("idempotency.sequential_duplicate"), exchanges)
