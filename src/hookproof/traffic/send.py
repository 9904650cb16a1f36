"""``hookproof send``: fire one signed delivery by hand, show the whole exchange, judge it.

The delivery is built exactly as the suite builds it
(:class:`~hookproof.reach.builder.DeliveryBuilder`) and the answer is judged with the suite's
own rules (:class:`~hookproof.checks.judge.Judge`: :func:`hookproof.checks.check_answer` for
response-bearing hooks, the accepted status classes otherwise), so ``send`` and the suite never
disagree about what the platform expects.

Modes:

* default - a correctly signed delivery: the platform expects 2xx (4xx too where the hook may
  refuse: pre-event hooks and callbacks marked ``rejectable``); a response-bearing hook's body
  must match its response contract.
* ``bad_signature`` - signed with a wrong secret: the receiver should refuse it (4xx).
* ``stale`` - timestamped older than the replay window (timestamped schemes only): 4xx.
* ``duplicate=N`` - the same delivery N times, each a retry (same dedupe key, re-signed): every
  answer is judged as in the default mode, and the answers must agree.

Exit codes: 0 the answer is what the platform expects, 1 it is not, 2 unusable input
(:class:`~hookproof.errors.HookproofError`, reported by the CLI as one line). The secret is
never printed: the output is scrubbed of it before it is written.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from hookproof.catalogue import Event, Provider, load_catalogue
from hookproof.catalogue.examples import Example, canonical_example, valid_examples
from hookproof.catalogue.inputs import read_payload
from hookproof.checks import WRONG_SECRET
from hookproof.checks.failures import CheckFailure, curl_line
from hookproof.checks.judge import Judge
from hookproof.checks.verdict import blocking as verdict_blocks
from hookproof.errors import HookproofError, InputError, UsageError, nearest
from hookproof.reach.builder import Delivery
from hookproof.reach.settings import check_url
from hookproof.transport.client import Exchange

EXIT_OK = 0
EXIT_NOT_CONFORMANT = 1

BAD_SECRET = WRONG_SECRET
"""What ``--bad-signature`` signs with (the suite's signature.wrong_secret_rejected uses it too)."""
BODY_LIMIT = 4000
UNUSABLE_KINDS = ("unreachable", "tls")
"""Transport failures that mean the target could not be tried at all (exit 2)."""


class TargetUnreachable(HookproofError):
    """The target cannot be reached (refused, DNS, TLS): nothing was judged."""


@dataclass(frozen=True)
class SendOptions:
    """What ``hookproof send`` was asked to do (its command-line options)."""

    provider: str
    event: str
    target_url: str
    example: str | None = None
    data: Path | None = None
    secret_env: str = "HOOKPROOF_SECRET"
    signing_url: str | None = None
    method: str | None = None
    hook_urls: tuple[str, ...] = ()
    bad_signature: bool = False
    stale: bool = False
    duplicate: int | None = None
    insecure: bool = False
    ca_bundle: str | None = None

    @property
    def mode(self) -> str:
        if self.bad_signature:
            return "bad-signature"
        if self.stale:
            return "stale"
        if self.duplicate is not None:
            return "duplicate"
        return "default"


@dataclass(frozen=True)
class Payload:
    value: Any
    source: str
    """What was sent, for the output: ``example maximal.json`` or ``data payload.json``."""


# -- input ------------------------------------------------------------------------------------


def _hook_urls(provider: Provider, items: Sequence[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for item in items:
        group, sep, url = item.partition("=")
        group, url = group.strip(), url.strip()
        if not sep or not group or not url:
            raise UsageError(f"--hook-url: {item!r} is not GROUP=URL")
        if group not in provider.hook_groups:
            known = ", ".join(provider.hook_groups) or "none"
            raise UsageError(f"--hook-url: {provider.id} has no hook group {group!r} "
                             f"(groups: {known})")
        urls[group] = check_url(url, "--hook-url")
    return urls


def _example(provider: Provider, event: Event, name: str | None) -> Example:
    if name is None:
        try:
            return canonical_example(provider.id, event.name)
        except LookupError:
            raise InputError(f"no bundled example for {provider.id} {event.name}; "
                             "give your own with --data FILE") from None
    examples = valid_examples(provider.id, event.name)
    for example in examples:
        if name in (example.name, example.name.rsplit(".", 1)[0]):
            return example
    known = [e.name.rsplit(".", 1)[0] for e in examples]
    raise UsageError(f"--example {name!r}: no such example for {provider.id} {event.name}; "
                     + nearest(name, known, kind="example"))


def _payload(provider: Provider, event: Event, options: SendOptions) -> Payload:
    if options.data is not None:
        return Payload(read_payload(provider, options.data), f"your payload {options.data}")
    example = _example(provider, event, options.example)
    return Payload(example.payload, f"bundled example {example.name}")


def _secret(options: SendOptions, environ: Mapping[str, str]) -> str:
    from hookproof.reach.settings import check_env_name

    check_env_name(options.secret_env)
    value = environ.get(options.secret_env, "")
    if value:
        return value
    if options.bad_signature:
        return BAD_SECRET  # the real secret is not needed to sign wrongly
    state = "empty" if options.secret_env in environ else "unset"
    raise UsageError(f"the signing secret is not set: environment variable {options.secret_env} "
                     f"is {state} (choose another variable with --secret-env)")


# -- output -----------------------------------------------------------------------------------


def _head(body: bytes, limit: int = BODY_LIMIT) -> str:
    if not body:
        return "(empty)"
    text = body[:limit].decode("utf-8", "replace")
    return text + (f"… ({len(body)} bytes)" if len(body) > limit else "")


def _request_lines(delivery: Delivery, signature_header: str, secret_env: str,
                   signed_with: str) -> list[str]:
    request = delivery.request
    lines = ["request:", f"  {request.method} {request.url}"]
    lines += [f"  {name}: {value}" for name, value in request.headers.items()]
    lines.append(f"  body: {_head(request.body)}")
    if delivery.signing_url:
        lines.append(f"signed URL: {delivery.signing_url}")
    value = request.header(signature_header) or "(none)"
    lines.append(f"signature: {signature_header}: {value}  ({signed_with})")
    lines.append(f"dedupe key: {delivery.dedupe_key}")
    return lines


def _response_lines(exchange: Exchange, budget: float) -> list[str]:
    if exchange.status is None:
        return [f"response: none after {exchange.elapsed * 1000:.0f} ms: {exchange.error}"]
    lines = [f"response: HTTP {exchange.status} in {exchange.elapsed * 1000:.0f} ms "
             f"(platform budget {budget:g} s)"]
    lines += [f"  {name}: {value}" for name, value in exchange.headers.items()]
    lines.append(f"  body: {_head(exchange.body)}")
    if exchange.error:
        lines.append(f"  ({exchange.error})")
    return lines


def _failure_lines(failure: CheckFailure, *, blocking: bool) -> list[str]:
    head = "does NOT conform" if blocking else f"conforms, with a {failure.severity} finding"
    return [f"verdict: {head}: {failure.title}",
            *(f"  {line}" for line in failure.finding_lines())]


# -- the command ------------------------------------------------------------------------------


def send(options: SendOptions, *, out: TextIO | None = None,
         environ: Mapping[str, str] | None = None) -> int:
    """Build, sign and send the delivery; print the exchange(s) and the verdict; exit code."""
    from hookproof.catalogue.validation import engine_for
    from hookproof.reach.settings import Settings
    from hookproof.reach.target import make_target

    out = out or sys.stdout
    environ = os.environ if environ is None else environ
    catalogue = load_catalogue()
    provider = catalogue.provider(options.provider)
    event = provider.event(options.event)
    check_url(options.target_url, "--target-url")
    if options.signing_url:
        check_url(options.signing_url, "--signing-url")
    hook_urls = _hook_urls(provider, options.hook_urls)
    method = options.method.upper() if options.method else None
    if method and method not in provider.transport.methods:
        raise UsageError(f"--method {method}: {provider.id} sends "
                         f"{' or '.join(provider.transport.methods)}")
    if options.example is not None and options.data is not None:
        raise UsageError("give --example NAME or --data FILE, not both")
    modes = [options.bad_signature, options.stale, options.duplicate is not None]
    if sum(modes) > 1:
        raise UsageError("--bad-signature, --stale and --duplicate are separate modes: "
                         "give one of them")
    if options.duplicate is not None and options.duplicate < 2:
        raise UsageError(f"--duplicate {options.duplicate}: send at least 2 copies")
    if options.stale and provider.replay_window is None:
        raise UsageError(f"--stale: {provider.id} signatures carry no timestamp (no replay "
                         "window), so a delivery cannot be stale; --stale applies to "
                         + ", ".join(sorted(p.id for p in catalogue.providers.values()
                                            if p.replay_window is not None)))
    payload = _payload(provider, event, options)
    secret = _secret(options, environ)

    settings = Settings(target_url=options.target_url, provider=provider.id,
                        secret_env=options.secret_env, signing_url=options.signing_url,
                        method=method, hook_urls=hook_urls, insecure=options.insecure,
                        ca_bundle=options.ca_bundle)
    if options.ca_bundle and not Path(options.ca_bundle).is_file():
        raise InputError(f"--ca-bundle {options.ca_bundle}: no such file")
    target = make_target(provider, settings, secret=secret, engine=engine_for(catalogue))
    builder = target.builder
    judge = Judge(provider, event, target)

    signed_with = f"computed with ${options.secret_env}, not shown"
    build: dict[str, Any] = {}
    if options.bad_signature:
        build["secret"] = BAD_SECRET
        signed_with = "computed with a WRONG secret on purpose"
    if options.stale:
        window = provider.replay_window
        assert window is not None
        skew = window.seconds + max(60, window.seconds)
        build["now"] = int(time.time()) - skew
        signed_with = (f"computed with ${options.secret_env}, timestamped {skew} s ago: "
                       f"outside the {window.seconds} s replay window")
    try:
        deliveries = [builder.build(event, payload.value, **build)]
        for _ in range((options.duplicate or 1) - 1):
            deliveries.append(builder.retry(deliveries[-1]))
    except (ValueError, TypeError) as exc:
        raise InputError(f"cannot build a {provider.id} delivery from "
                         f"{payload.source}: {exc}") from None

    timeout = event.budget + 2.0
    exchanges: list[Exchange] = []
    try:
        for delivery in deliveries:
            exchange = target.client.send(delivery.request, timeout=timeout)
            if exchange.error_kind in UNUSABLE_KINDS:
                raise TargetUnreachable(f"cannot reach {delivery.request.url}: "
                                        f"{exchange.error}")
            exchanges.append(exchange)
    finally:
        target.client.close()

    lines = [f"hookproof send: {provider.id} {event.name} ({event.kind}"
             + (", response contract" if event.response else "") + f") -> "
             f"{deliveries[0].request.url}",
             f"payload: {payload.source}"]
    name = provider.event_name_of(payload.value)
    if name is not None and name != event.name:
        lines.append(f"note: the payload names the event {name!r}, not {event.name!r}")
    lines.append({
        "default": "mode: a correctly signed delivery",
        "bad-signature": "mode: --bad-signature: signed with a wrong secret; the receiver "
                         "should refuse it (4xx)",
        "stale": "mode: --stale: timestamped outside the replay window; the receiver should "
                 "refuse it (4xx)",
        "duplicate": f"mode: --duplicate {options.duplicate}: the same delivery (same dedupe "
                     f"key) sent {options.duplicate} times, each re-signed as a platform retry",
    }[options.mode])

    conforms = True
    for index, (delivery, exchange) in enumerate(zip(deliveries, exchanges, strict=True)):
        lines.append("")
        if len(deliveries) > 1:
            lines.append(f"-- delivery {index + 1} of {len(deliveries)}"
                         + (" (retry)" if index else ""))
        lines += _request_lines(delivery, builder.scheme.header, options.secret_env,
                                signed_with)
        lines += _response_lines(exchange, target.budget(event))
        try:
            if options.bad_signature or options.stale:
                verdict = judge.rejected(exchange, stale=options.stale)
            else:
                verdict = judge.accepted(exchange)
            lines.append(f"verdict: conforms: {verdict}")
        except CheckFailure as failure:
            # a mode's own expectation (4xx) always counts; otherwise grade as the suite does
            blocking = (verdict_blocks(failure.severity, strict=False)
                        or options.bad_signature or options.stale)
            conforms = conforms and not blocking
            lines += _failure_lines(failure, blocking=blocking)
        lines.append("reproduce (the signature, not the secret; a timestamped one goes "
                     "stale):")
        lines.append(f"  {curl_line(exchange, options.secret_env)}")

    if options.duplicate is not None:
        lines.append("")
        answers = ", ".join(f"HTTP {e.status}" if e.status is not None else str(e.error)
                            for e in exchanges)
        try:
            judge.agree(exchanges)
            lines.append(f"duplicates: {len(exchanges)} answers ({answers}): they agree")
        except CheckFailure as failure:
            conforms = False
            lines.append(f"duplicates: {len(exchanges)} answers ({answers}): they do NOT "
                         f"agree: {failure.title}")
            lines.append(f"  first: {failure.expected}")
            lines.append(f"  later: {failure.got}")
        lines.append("  (whether the receiver processed it once is not observed here: run the "
                     "suite with --effects-url for idempotency.*)")

    lines.append("")
    lines.append("result: " + ("the answer is what the platform expects" if conforms
                               else "the answer is NOT what the platform expects"))
    text = "\n".join(lines) + "\n"
    if len(secret) >= 4 and secret != BAD_SECRET:  # belt and braces: never print it
        text = text.replace(secret, "[secret]")
    out.write(text)
    out.flush()
    return EXIT_OK if conforms else EXIT_NOT_CONFORMANT


__all__ = ["SendOptions", "TargetUnreachable", "send"]
