"""The payloads a fuzz check sends, generated once and kept: a cached example database.

Generating is the slow part of fuzzing, not sending: schemathesis builds each event's
strategy in about 0.1 s and Hypothesis draws each payload in about 7 ms. The payloads are a
pure function of the contract, the mode, the seed and the count (Hypothesis with a fixed seed
and no failure draws the same sequence every time), so they are drawn once and kept:

1. **bundled**: ``fuzz-corpus.json.gz``, package data built by ``python -m hookproof.checks.corpus``
   for the default seed and count of every event, so a default run draws nothing;
2. **cached**: other seeds and counts, written on first use under ``$HOOKPROOF_CACHE_DIR``
   (default ``$XDG_CACHE_HOME/hookproof``, else ``~/.cache/hookproof``);
3. **drawn** when neither holds them (and then cached).

Each entry carries the fingerprint of the provider's exported contracts (the view generation
reads): a changed contract never reuses payloads drawn from the old one. A fuzz check that
finds a required failure in these payloads draws again with Hypothesis, to shrink it.
"""

from __future__ import annotations

import copy
import functools
import gzip
import hashlib
import json
import os
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from hookproof.catalogue import Event, Provider

BUNDLED = "fuzz-corpus.json.gz"
FORMAT = 1


@functools.cache
def fingerprint(provider_id: str, mode: str) -> str:
    """The exported contracts generation reads for ``mode``, as a digest."""
    from hookproof.catalogue.export import export_openapi

    document = export_openapi(provider_id, closed=True, sender=mode == "positive")
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def key(provider: Provider, event: Event, mode: str, seed: int, count: int) -> str:
    return f"{provider.id}/{event.name}/{mode}/{seed}/{count}/{fingerprint(provider.id, mode)}"


@functools.cache
def _bundled() -> dict[str, Any]:
    try:
        raw = resources.files("hookproof.checks").joinpath(BUNDLED).read_bytes()
    except (FileNotFoundError, OSError):
        return {}
    try:
        document = json.loads(gzip.decompress(raw))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return {}
    entries = document.get("entries")
    return entries if isinstance(entries, dict) else {}


def cache_dir() -> Path:
    explicit = os.environ.get("HOOKPROOF_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hookproof"


def _cache_file(entry_key: str) -> Path:
    digest = hashlib.sha256(entry_key.encode("utf-8")).hexdigest()[:32]
    return cache_dir() / "fuzz" / f"{digest}.json"


def _cached(entry_key: str) -> list[Any] | None:
    try:
        document = json.loads(_cache_file(entry_key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(document, dict) and document.get("key") == entry_key:
        found = document.get("payloads")
        if isinstance(found, list):
            return found
    return None


def _store(entry_key: str, payloads: list[Any]) -> None:
    """Write the entry atomically (pytest-xdist workers may write the same one); a cache that
    cannot be written is no cache, never an error."""
    target = _cache_file(entry_key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent,
                                         delete=False, suffix=".tmp") as handle:
            json.dump({"key": entry_key, "payloads": payloads}, handle)
        os.replace(handle.name, target)
    except OSError:
        return


def payloads(provider: Provider, event: Event, mode: str, seed: int,
             count: int) -> tuple[list[Any], str]:
    """The payloads a fuzz check of ``event`` sends, and where they came from (``bundled``,
    ``cached``, ``drawn`` or ``derived``)."""
    entry_key = key(provider, event, mode, seed, count)
    found = _bundled().get(entry_key)
    if isinstance(found, list):
        return found, "bundled"
    cached = _cached(entry_key)
    if cached is not None:
        return cached, "cached"
    drawn, whole = draw(provider, event, mode, seed, count)
    source = "drawn"
    if len(drawn) < count:
        top_up = derived_payloads if mode == "positive" else derived_invalid_payloads
        more = [p for p in top_up(provider, event, seed, count - len(drawn)) if p not in drawn]
        drawn += more
        source = "derived" if more and not whole else source
    if whole:
        _store(entry_key, drawn)
    return drawn, source


DRAW_SECONDS = 10.0
"""How long drawing one event's payloads may take. A schema as large as GitHub's
``pull_request`` (hundreds of nested properties) makes Hypothesis reject nearly every draw;
past this, what was drawn is sent (and not cached), topped up with derived payloads."""


def draw(provider: Provider, event: Event, mode: str, seed: int,
         count: int) -> tuple[list[Any], bool]:
    """What Hypothesis generates for ``event`` with this seed and count when nothing fails:
    the sequence a fuzz check sends (the same settings as
    :func:`hookproof.checks.fuzzing.fuzz`), and whether drawing finished inside
    :data:`DRAW_SECONDS`."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as seeded

    from hookproof.checks.generation import (
        DRAW_DEADLINE,
        OutOfTime,
        payload_strategy,
        pinned_constants,
    )

    drawn: list[Any] = []
    strategy = payload_strategy(provider, event, "positive" if mode == "positive"
                                else "negative")

    @seeded(seed)
    @settings(max_examples=count, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              print_blob=False)
    @given(strategy)
    def collect(payload: Any) -> None:
        drawn.append(payload)

    from hypothesis.errors import HypothesisException

    DRAW_DEADLINE[0] = time.monotonic() + DRAW_SECONDS
    try:
        with pinned_constants():
            collect()
    except HypothesisException:
        return [], True
    except OutOfTime:
        return drawn, False
    finally:
        DRAW_DEADLINE[0] = None
    return drawn, True


def derived_payloads(provider: Provider, event: Event, seed: int, count: int) -> list[Any]:
    """Up to ``count`` valid payloads derived from the contract (other seeds, other values),
    for an event whose contract Hypothesis cannot draw from in time."""
    from hookproof.catalogue.derive import DeriveError, derive_valid
    from hookproof.catalogue.validation import engine_for

    engine = engine_for()
    out: list[Any] = []
    for offset in range(count):
        try:
            value = derive_valid(engine, provider, event.name, event.request,
                                 minimal=offset % 2 == 1, seed=seed * 1000 + offset + 1)
        except (DeriveError, RecursionError):
            break
        if value not in out:
            out.append(value)
    return out


WRONG_TYPE: tuple[Any, ...] = (12345, "not-a-value", True, [], {}, None)
"""Values a field is set to, the first its contract refuses taken."""


def derived_invalid_payloads(provider: Provider, event: Event, seed: int,
                             count: int) -> list[Any]:
    """Up to ``count`` payloads the contract refuses, made from a derived valid one: a
    required field left out, or a field (top level, then one level down) given a value of
    another type. For an event whose contract Hypothesis cannot draw a negative from in time
    (GitHub's ``pull_request``), so that ``fuzz.invalid_handled`` still sends something.
    The field that names the event is kept: the receiver must still know what it got."""
    import random

    from hookproof.catalogue.derive import DeriveError, derive_valid
    from hookproof.catalogue.validation import engine_for

    engine = engine_for()
    try:
        valid = derive_valid(engine, provider, event.name, event.request, minimal=False,
                             seed=seed * 1000 + 1)
    except (DeriveError, RecursionError):
        return []
    if not isinstance(valid, dict):
        return []
    validator = engine.validator(event.request)
    naming = {f.split(".")[0] for f in provider.event_fields}
    sites: list[tuple[str, ...]] = [(k,) for k in valid if k not in naming]
    sites += [(k, inner) for k in valid if k not in naming and isinstance(valid[k], dict)
              for inner in valid[k]]
    random.Random(seed).shuffle(sites)
    out: list[Any] = []
    for path in sites:
        if len(out) >= count:
            break
        for change in ("drop", *range(len(WRONG_TYPE))):
            trial = copy.deepcopy(valid)
            node = trial
            for part in path[:-1]:
                node = node[part]
            if change == "drop":
                del node[path[-1]]
            else:
                node[path[-1]] = WRONG_TYPE[int(change)]
            if trial not in out and validator.validate(trial).errors:
                out.append(trial)
                break
    return out


def build(path: Path, seed: int, count: int) -> int:
    """Write the bundled corpus for every event and mode; the number of payloads."""
    from hookproof.catalogue import load_catalogue

    entries: dict[str, Any] = {}
    for provider in load_catalogue().providers.values():
        for event in provider.events:
            for mode in ("positive", "negative"):
                entries[key(provider, event, mode, seed, count)] = draw(
                    provider, event, mode, seed, count)[0]
    document = {"format": FORMAT, "seed": seed, "count": count, "entries": entries}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    return sum(len(p) for p in entries.values())


def main() -> int:
    from hookproof.checks.generation import DEFAULT_EXAMPLES, DEFAULT_SEED

    target = Path(__file__).with_name(BUNDLED)
    total = build(target, DEFAULT_SEED, DEFAULT_EXAMPLES)
    print(f"{target}: {total} payloads ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
