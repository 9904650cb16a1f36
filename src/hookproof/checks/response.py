"""The response checks: a response-bearing hook answers in the shape the platform obeys, within its
budget."""

from __future__ import annotations

from hookproof import safejson
from hookproof.checks.base import (
    Context,
    _responds,
    check,
)
from hookproof.checks.failures import Detail
from hookproof.errors import InputError
from hookproof.transport.client import Exchange


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
    from hookproof.catalogue.validation import validate_response

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
    check_budget(ctx, ctx.send(ctx.deliver()))


def check_budget(ctx: Context, exchange: Exchange) -> None:
    """The budget rule, for this check and for every exchange judged outside the suite."""
    budget = ctx.target.budget(ctx.event)
    if exchange.error_kind == "timeout" or exchange.elapsed > budget:
        raise ctx.fail(f"the answer took longer than the {budget:g} s budget",
                       expected=f"an answer within {budget:g} s",
                       got=exchange.error or f"{exchange.elapsed:.3f} s", exchanges=[exchange],
                       hint="answer first, process asynchronously (the platform gives up, "
                       "and may retry, after the budget)")
