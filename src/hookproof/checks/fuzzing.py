"""The fuzz checks: payloads generated from the contracts, accepted when valid, survived when
not; and how a fuzz check sends them (from the corpus), judges every answer and shrinks a
failure. The payloads themselves come from :mod:`hookproof.checks.generation`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookproof.catalogue import Event, Provider
from hookproof.checks.base import (
    Context,
    check,
)
from hookproof.checks.generation import (
    DEFAULT_EXAMPLES,
    DEFAULT_SEED,
    Mode,
    payload_strategy,
    pinned_constants,
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
    fuzz(ctx, "positive", _judge_accepted)


@check("fuzz.invalid_handled", expectation="never 5xx", applies=_fuzzing)
def invalid_handled(ctx: Context) -> None:
    """Schema-invalid generated payloads never crash the receiver (shrunk on failure)."""
    fuzz(ctx, "negative", _judge_handled)


# -- sending generated payloads, judging, shrinking -----------------------------------------

Judge = Callable[[Context, Exchange], None]


def fuzz(ctx: Context, mode: Mode, judge: Judge) -> None:
    """Send the generated payloads of ``ctx.event`` (kept in the corpus, drawn once) and judge
    every answer; a required failure is drawn again by Hypothesis, to shrink it."""
    from hookproof.checks.corpus import payloads as kept_payloads
    from hookproof.checks.failures import CheckFailure
    from hookproof.reach.target import TargetUnavailable

    options = ctx.target.settings
    examples = getattr(options, "fuzz_examples", DEFAULT_EXAMPLES)
    run_seed = getattr(options, "seed", DEFAULT_SEED)
    payloads, _ = kept_payloads(ctx.provider, ctx.event, mode, run_seed, examples)
    recommended: CheckFailure | None = None
    sent = 0
    for payload in payloads:
        try:
            exchange = ctx.send(ctx.builder.build(ctx.event, payload))
        except CheckFailure as failure:
            # the receiver stopped answering: the payload sent when it died, not shrunk
            # (shrinking against a dead receiver would blame another payload)
            raise _annotated(failure, run_seed, shrunk=False) from None
        sent += 1
        try:
            judge(ctx, exchange)
        except CheckFailure as failure:
            if failure.severity != "required":
                recommended = recommended or failure  # holds for any payload: kept once
                continue
            # shrink it: Hypothesis draws the same sequence again, meets the failure and
            # reduces the payload; if it does not reproduce, the payload as sent is reported
            try:
                shrink(ctx, mode, judge)
            except TargetUnavailable:
                raise
            except CheckFailure as shrunk:
                if shrunk.severity == "required":
                    raise
            raise _annotated(failure, run_seed, shrunk=False) from None
    if recommended is not None:
        raise _annotated(recommended, run_seed, shrunk=False)
    if not sent:
        from hookproof.checks.failures import NotObserved

        raise NotObserved(f"no {mode} payload of {ctx.event.name} could be generated from "
                          "the contract")


def shrink(ctx: Context, mode: Mode, judge: Judge) -> None:
    """Send generated payloads of ``ctx.event`` and judge every answer; shrink a failure."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
    from hypothesis.errors import Flaky, HypothesisException, Unsatisfiable

    from hookproof.checks.failures import CheckFailure, NotObserved
    from hookproof.reach.target import TargetUnavailable

    options = ctx.target.settings
    examples = getattr(options, "fuzz_examples", DEFAULT_EXAMPLES)
    run_seed = getattr(options, "seed", DEFAULT_SEED)
    stopped: list[TargetUnavailable | CheckFailure] = []
    recommended: list[CheckFailure] = []
    sent = [0]

    @seed(run_seed)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              print_blob=False)
    @given(payload_strategy(ctx.provider, ctx.event, mode))
    def probe(payload: dict[str, Any]) -> None:
        if stopped:
            return
        try:
            exchange = ctx.send(ctx.builder.build(ctx.event, payload))
        except TargetUnavailable as exc:  # not a finding to shrink: stop the run
            stopped.append(exc)
            return
        except CheckFailure as failure:
            if not failure.crash:
                raise
            # the receiver stopped answering: report the payload that was sent when it died,
            # and stop (shrinking against a dead receiver would blame another payload)
            stopped.append(failure)
            return
        sent[0] += 1
        try:
            judge(ctx, exchange)
        except CheckFailure as failure:
            if failure.severity == "required":
                raise  # shrunk to a minimal payload
            # a recommended finding (a text answer, a 201) holds for any payload: kept, not
            # shrunk, and generation goes on looking for a required one
            if not recommended:
                recommended.append(failure)

    try:
        with pinned_constants():
            probe()
    except CheckFailure as failure:
        raise _annotated(failure, run_seed) from None
    except Unsatisfiable:
        raise NotObserved(f"no {mode} payload of {ctx.event.name} could be generated from "
                          "the contract") from None
    except Flaky as exc:
        found = [e for e in getattr(exc, "exceptions", ()) if isinstance(e, CheckFailure)]
        if found:  # the receiver failed, but not every time: still a finding
            raise _annotated(found[0], run_seed) from None
        raise ctx.fail("a failure on a generated payload did not reproduce when replayed",
                       expected="the same answer to the same payload",
                       got=str(exc).splitlines()[0], hint=_replay(run_seed)) from None
    except HypothesisException as exc:
        raise NotObserved(f"payload generation failed: {exc}") from None
    if stopped:
        if isinstance(stopped[0], CheckFailure):
            raise _annotated(stopped[0], run_seed, shrunk=False)
        raise stopped[0]
    if recommended:
        raise _annotated(recommended[0], run_seed, shrunk=False)
    if not sent[0]:
        raise NotObserved(f"no {mode} payload of {ctx.event.name} could be generated")


def _replay(run_seed: int) -> str:
    return f"replay with --hookproof-seed {run_seed}"


def _annotated(failure: Any, run_seed: int, *, shrunk: bool = True) -> Any:
    """The (shrunk) failure with the seed to replay it and the minimal payload sent."""
    from hookproof.checks.failures import Detail

    details = list(failure.details)
    if failure.exchanges:
        body = failure.exchanges[-1].request.body.decode("utf-8", "replace")
        label = "minimal payload sent (shrunk)" if shrunk else "payload sent"
        details.insert(0, Detail(label, "", body[:600] or "(empty)"))
    hint = "; ".join(h for h in (failure.hint, _replay(run_seed)) if h)
    return failure.evolve(title=f"{failure.title} (generated, seed {run_seed})",
                          details=details, hint=hint)
