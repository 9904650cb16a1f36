"""Property-based fuzzing: payloads generated from the contracts by schemathesis.

The provider's contracts are exported as an OpenAPI 3.1 document
(:mod:`hookproof.catalogue.export`), loaded with ``schemathesis.openapi.from_dict``, and each
event's operation yields request bodies in two modes:

* **positive**: schema-valid payloads; the receiver must accept them (``fuzz.generated_accepted``);
* **negative**: schema-invalid payloads; the receiver must never answer 5xx
  (``fuzz.invalid_handled``).

Each generated body is made into what the platform would send: the event name field set to
the event, encoded (JSON, or form: every value a string, a list as repeated keys), then checked
against the contract once more *as the receiver will decode it* (positive cases must pass,
negative ones must not), signed over its final bytes by the suite's
:class:`~hookproof.reach.builder.DeliveryBuilder` with a fresh dedupe key, and sent through the
suite's target. Hypothesis drives it: a fixed seed makes a run repeatable, and a failure is
shrunk to a minimal payload before it is reported (with its ``curl`` line).
"""

from __future__ import annotations

import contextlib
import functools
import json
import string
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.formats import FORMATS
from hookproof.errors import InputError
from hookproof.transport.encoding import decode_form, encode_form

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from hookproof.checks import Context
    from hookproof.transport.client import Exchange

Mode = Literal["positive", "negative"]

DEFAULT_SEED = 0
"""The seed of a run when none is given: every run generates the same payloads."""

DEFAULT_EXAMPLES = 8
"""Generated payloads per event and mode by default (``--fuzz-examples N``)."""

_DIGITS = string.digits


# -- format strategies --------------------------------------------------------------------------


def _json_values() -> SearchStrategy[Any]:
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.floats(
        allow_nan=False, allow_infinity=False)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def format_strategies() -> dict[str, SearchStrategy[str]]:
    """Strategies for every format the contracts use, each value passing :data:`FORMATS`."""
    from hypothesis import strategies as st

    def date_time(moment: datetime, fraction: str, offset: int | None) -> str:
        text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
                f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
        text += f".{fraction}" if fraction else ""
        if offset is None:
            return text + "Z"
        sign = "+" if offset >= 0 else "-"
        hours, minutes = divmod(abs(offset), 60)
        return f"{text}{sign}{hours:02d}:{minutes:02d}"

    date_times = st.builds(
        date_time,
        st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)),
        st.text(_DIGITS, max_size=9),
        st.none() | st.integers(-23 * 60 - 59, 23 * 60 + 59),
    )
    local = st.text(string.ascii_letters + string.digits + "._%+-", min_size=1, max_size=16)
    label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
    emails = st.builds(lambda u, d, t: f"{u}@{d}.{t}", local, label,
                       st.sampled_from(["com", "org", "io", "example"]))
    segment = st.text(string.ascii_letters + string.digits + "-._~", max_size=10)
    uris = st.builds(lambda scheme, host, parts: f"{scheme}://{host}.example/" + "/".join(parts),
                     st.sampled_from(["https", "http"]), label, st.lists(segment, max_size=3))
    objects = st.dictionaries(st.text(max_size=10), _json_values(), max_size=4)
    arrays = st.lists(_json_values(), max_size=3)
    dump = functools.partial(json.dumps, ensure_ascii=False)
    strategies: dict[str, SearchStrategy[str]] = {
        "date-time": date_times,
        "email": emails,
        "uri": uris,
        "json-object-text": st.builds(dump, objects),
        "json-array-text": st.builds(dump, arrays),
    }
    from hookproof.catalogue.derive import FORMAT_SAMPLES

    for name in FORMATS:  # the rest of JSON Schema's formats: realistic values
        strategies.setdefault(name, st.sampled_from(FORMAT_SAMPLES[name]))
    for name, strategy in strategies.items():
        check = FORMATS[name]
        strategies[name] = strategy.filter(check)
    return strategies


@functools.cache
def _register_formats() -> None:
    import schemathesis

    for name, strategy in format_strategies().items():
        schemathesis.openapi.format(name, strategy)


# -- schemathesis -------------------------------------------------------------------------------


@functools.cache
def load_schema(provider_id: str, sender: bool = False) -> Any:
    """The provider's exported OpenAPI document, loaded by schemathesis (once per process).

    ``sender``: the platform's view (what it sends), which positive payloads are drawn from;
    negative payloads break the receiver's view (the contract as it is).
    """
    import schemathesis

    from hookproof.catalogue.export import export_openapi

    _register_formats()
    return schemathesis.openapi.from_dict(export_openapi(provider_id, closed=True,
                                                         sender=sender))


def body_strategy(provider: Provider, event: Event, mode: Mode) -> SearchStrategy[Any]:
    """Request bodies of ``event`` generated by schemathesis from the exported document.

    The operation's header and query parameters are fixed (the suite signs every delivery
    itself), so only the body is generated.
    """
    from schemathesis.generation import GenerationMode

    from hookproof.catalogue.export import event_path

    operation = load_schema(provider.id, mode == "positive")[event_path(event)]["POST"]
    definition = operation.definition.raw
    headers = {p["name"]: "hookproof" for p in definition.get("parameters", ())
               if p.get("in") == "header"}
    query = {p["name"]: "0" * 64 for p in definition.get("parameters", ())
             if p.get("in") == "query"}
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    strategy: SearchStrategy[Any] = operation.as_strategy(
        generation_mode=generation, headers=headers, query=query or None)
    return strategy.map(lambda case: case.body)


# -- making a generated body into a delivery's payload -----------------------------------------


def event_field(provider: Provider, event: Event) -> tuple[str, ...] | None:
    """The body field that names ``event`` (None where the URL alone names it)."""
    from hookproof.catalogue.examples import canonical_example

    payload = canonical_example(provider.id, event.name).payload
    wanted = provider.field_value_of(event.name)
    for dotted in provider.event_fields:
        if wanted is not None and provider._field_value(_only(payload, dotted)) == wanted:
            return tuple(dotted.split("."))
    return None


def _only(payload: Any, dotted: str) -> dict[str, Any]:
    head = dotted.split(".")[0]
    return {head: payload[head]} if isinstance(payload, Mapping) and head in payload else {}


def _with_field(payload: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    result = dict(payload)
    node = result
    for part in path[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, Mapping) else {}
        node[part] = child
        node = child
    node[path[-1]] = value
    return result


def as_delivered(provider: Provider, event: Event, body: Any) -> dict[str, Any] | None:
    """``body`` as the receiver will decode it, with the event name set; None if it cannot be
    sent as this provider's payload (not an object, not encodable)."""
    if not isinstance(body, Mapping):
        return None
    payload = dict(body)
    path = event_field(provider, event)
    value = provider.field_value_of(event.name)
    if path is not None and value is not None:
        payload = _with_field(payload, path, value)
    try:
        if provider.transport.encoding == "form":
            return dict(decode_form(encode_form(payload)))
        return dict(json.loads(json.dumps(payload, ensure_ascii=False, allow_nan=False)))
    except (TypeError, ValueError, InputError, UnicodeError):
        return None


_STRATEGIES: dict[tuple[str, str, Mode], SearchStrategy[Any]] = {}


def payload_strategy(provider: Provider, event: Event, mode: Mode) -> SearchStrategy[Any]:
    """Payloads ready to sign: positive ones valid against the contract, negative ones not.

    Built once per process for each event and mode (building one costs ~0.1 s; a strategy is
    immutable, so any number of runs with any seed draw from the same one).
    """
    key = (provider.id, event.name, mode)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _payload_strategy(provider, event, mode)
    return _STRATEGIES[key]


DRAW_DEADLINE: list[float | None] = [None]
"""When drawing the corpus must stop (``time.monotonic()``), or None."""


class OutOfTime(Exception):
    """Drawing took longer than its deadline (see ``corpus.DRAW_SECONDS``)."""


def _payload_strategy(provider: Provider, event: Event, mode: Mode) -> SearchStrategy[Any]:
    from hookproof.catalogue.validation import engine_for

    validator = engine_for().validator(event.request)

    def fits(payload: dict[str, Any] | None) -> bool:
        deadline = DRAW_DEADLINE[0]
        if deadline is not None and time.monotonic() > deadline:
            raise OutOfTime
        if payload is None:
            return False
        if mode == "positive":
            return validator.is_clean(payload) or not validator.validate(payload).errors
        return bool(validator.validate(payload).errors)

    return body_strategy(provider, event, mode).map(
        lambda body: as_delivered(provider, event, body)).filter(fits)


# -- running a fuzz check ----------------------------------------------------------------------


@contextlib.contextmanager
def pinned_constants() -> Iterator[None]:
    """Keep Hypothesis from mixing constants of the loaded local modules into generation.

    Hypothesis occasionally draws literals found in "local" source modules (those outside
    site-packages) that happen to be imported, so the same seed would generate other payloads
    in another project or with another set of plugins. Generation here sees no local
    constants, so a seed names the same payloads everywhere.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without this machinery
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    current = getattr(providers, "_local_constants", None)
    if original is None or cache is None or current is None:  # pragma: no cover
        yield
        return
    empty = type(current)()
    providers._get_local_constants = lambda: empty
    # the pools per kind of choice are cached: a cache of our own while pinned
    providers.CONSTANTS_CACHE = type(cache)(1024)
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE = cache


Judge = Callable[["Context", "Exchange"], None]


def fuzz(ctx: Context, mode: Mode, judge: Judge) -> None:
    """Send the generated payloads of ``ctx.event`` (kept in the corpus, drawn once) and judge
    every answer; a required failure is drawn again by Hypothesis, to shrink it."""
    from hookproof.checks import corpus
    from hookproof.checks.failures import CheckFailure
    from hookproof.reach.target import TargetUnavailable

    options = ctx.target.settings
    examples = getattr(options, "fuzz_examples", DEFAULT_EXAMPLES)
    run_seed = getattr(options, "seed", DEFAULT_SEED)
    payloads, _ = corpus.payloads(ctx.provider, ctx.event, mode, run_seed, examples)
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


__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_SEED", "as_delivered", "body_strategy",
           "format_strategies", "fuzz", "load_schema", "payload_strategy"]
