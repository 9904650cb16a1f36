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
shrunk to a minimal payload before it is reported (with its ``curl`` line). This module makes
the payloads; :mod:`hookproof.checks.corpus` keeps them and :mod:`hookproof.checks.fuzzing`
sends, judges and shrinks.
"""

from __future__ import annotations

import contextlib
import functools
import json
import string
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from hookproof.catalogue import Event, Provider
from hookproof.catalogue.formats import FORMATS
from hookproof.errors import InputError
from hookproof.transport.encoding import decode_form, encode_form

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


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


__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_SEED", "Mode", "OutOfTime", "as_delivered",
           "body_strategy", "format_strategies", "load_schema", "payload_strategy",
           "pinned_constants"]
