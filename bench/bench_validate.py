"""Benchmark: `hookproof validate` against a plain jsonschema loop over the same archive.

Generates a JSONL archive of --events payloads mixed across every provider (one archive per
provider, since `validate` takes one --provider), built from the bundled valid examples with
fresh ids, then times on one core:

  (a) hookproof validate  - hookproof.catalogue.files.validate_files over each archive, output to
                            a null sink (what `hookproof validate --provider P FILE.jsonl` runs);
  (b) plain jsonschema    - json.loads + iter_errors of a cached Draft202012Validator per event
                            (hookproof's format checker, the same strict schemas, so both find
                            the same things), the event picked the same way from the payload.

Run:  python bench/bench_validate.py [--events 100000] [--repeat 3] [--dirty 0.0]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.metadata
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from hookproof.catalogue import Catalogue, load_catalogue
from hookproof.catalogue.examples import fresh_ids, valid_examples
from hookproof.catalogue.files import validate_files
from hookproof.catalogue.formats import FORMATS, STRING_FORMATS
from hookproof.catalogue.validation import ValidationEngine, engine_for

TARGET = 150_000  # events/s for (a)

_SUMMARY = re.compile(
    r"^(\d+) payload\(s\): (\d+) error\(s\) in (\d+), (\d+) drift finding\(s\) in (\d+)"
    r"(?:, (\d+) unusable)?"
)


# --------------------------------------------------------------------------- the archive


def _bases(catalogue: Catalogue) -> dict[str, list[tuple[str, Any]]]:
    """Per provider: (event, payload) of every valid example whose event can be inferred."""
    out: dict[str, list[tuple[str, Any]]] = {}
    for provider in catalogue.providers.values():
        for event in provider.events:
            for example in valid_examples(provider.id, event.name):
                # Frontline `routing` names no event: `validate` needs --event for it.
                if provider.event_name_of(example.payload) == event.name:
                    out.setdefault(provider.id, []).append((event.name, example.payload))
    return out


def write_archives(catalogue: Catalogue, directory: Path, events: int, dirty: float,
                   seed: int) -> dict[str, tuple[Path, int]]:
    """Write one JSONL archive per provider; return provider -> (path, record count)."""
    rng = random.Random(seed)
    bases = _bases(catalogue)
    pool = [(provider, event, payload)
            for provider, items in sorted(bases.items()) for event, payload in items]
    lines: dict[str, list[str]] = {p: [] for p in bases}
    for _ in range(events):
        provider, _event, payload = pool[rng.randrange(len(pool))]
        record = fresh_ids(payload, rng)
        if dirty and rng.random() < dirty:  # drift: a field the contract does not know
            record = copy.copy(record)
            record["x_bench_unknown"] = "1"
        lines[provider].append(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
    archives: dict[str, tuple[Path, int]] = {}
    for provider, records in lines.items():
        path = directory / f"{provider}.jsonl"
        path.write_text("\n".join(records) + "\n", encoding="utf-8")
        archives[provider] = (path, len(records))
    return archives


# --------------------------------------------------------------------------- the two contenders


class _Sink:
    """A text sink that keeps only the last thing written (the summary line)."""

    last = ""

    def write(self, text: str) -> int:
        self.last = text
        return len(text)

    def writelines(self, lines: Any) -> None:
        for _ in lines:
            pass

    def flush(self) -> None:
        pass


def run_hookproof(provider: str, path: Path) -> tuple[int, int]:
    """(a): returns (payloads, payloads with an error or drift)."""
    sink = _Sink()
    validate_files([path], provider=provider, event=None, out=sink)  # type: ignore[arg-type]
    match = _SUMMARY.match(sink.last)
    if match is None:
        raise SystemExit(f"unexpected summary from validate_files: {sink.last!r}")
    payloads, _, with_errors, _, with_drift, unusable = match.groups()
    if unusable:
        raise SystemExit(f"{provider}: {unusable} unusable record(s) in the archive")
    return int(payloads), int(with_errors) + int(with_drift)


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, function in FORMATS.items():
        checker.checks(name)(function)
    return checker


def make_plain(catalogue: Catalogue, engine: ValidationEngine, *, strict: bool
               ) -> Callable[[str, Path], tuple[int, int]]:
    """(b): a loop a user would write around cached jsonschema validators."""
    checker = _format_checker()
    schemas = engine.strict_schemas if strict else catalogue.schemas
    registry = engine.strict_registry if strict else catalogue.registry
    cache: dict[tuple[str, str], Draft202012Validator] = {}

    def run(provider_id: str, path: Path) -> tuple[int, int]:
        payloads = flagged = 0
        for uri, payload in _records(catalogue, provider_id, path, json.loads):
            payloads += 1
            validator = cache.get((provider_id, uri))
            if validator is None:
                validator = cache[(provider_id, uri)] = Draft202012Validator(
                    schemas[uri], registry=registry, format_checker=checker)
            if next(iter(validator.iter_errors(payload)), None) is not None:
                flagged += 1
        return payloads, flagged

    return run


def _records(catalogue: Catalogue, provider_id: str, path: Path,
             loads: Callable[[str], Any]) -> Iterator[tuple[str, Any]]:
    """(contract URI, payload) of every record of a JSONL archive: what a bare loop reads."""
    provider = catalogue.provider(provider_id)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                payload = loads(line)
                yield provider.event(provider.event_name_of(payload) or "").request, payload


def make_floor(catalogue: Catalogue, engine: ValidationEngine
               ) -> Callable[[str, Path], tuple[int, int]]:
    """(f) the floor: the fastest available JSON decoder and jsonschema_rs ``is_valid`` over
    the same records, strict schemas and format functions, in a bare loop."""
    import jsonschema_rs

    try:
        import orjson

        loads: Callable[[str], Any] = orjson.loads
    except ImportError:  # pragma: no cover
        loads = json.loads
    registry = jsonschema_rs.Registry(list(engine.strict_schemas.items()))
    cache: dict[tuple[str, str], Any] = {}

    def run(provider_id: str, path: Path) -> tuple[int, int]:
        payloads = flagged = 0
        for uri, payload in _records(catalogue, provider_id, path, loads):
            payloads += 1
            validator = cache.get((provider_id, uri))
            if validator is None:
                validator = cache[(provider_id, uri)] = jsonschema_rs.Draft202012Validator(
                    engine.strict_schemas[uri], registry=registry, formats=STRING_FORMATS,
                    validate_formats=True, ignore_unknown_formats=False)
            if not validator.is_valid(payload):
                flagged += 1
        return payloads, flagged

    return run


# --------------------------------------------------------------------------- scale


_SCALE_CHILD = """
import sys, time
from pathlib import Path
from hookproof.catalogue.files import validate_files
class Sink:
    def write(self, text): return len(text)
    def writelines(self, lines): pass
    def flush(self): pass
validate_files([Path(sys.argv[1])], provider=sys.argv[2], event=None, out=Sink())  # warm
start = time.perf_counter()
validate_files([Path(sys.argv[3])], provider=sys.argv[2], event=None, out=Sink())
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork and exec)
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(time.perf_counter() - start, peak)
"""


def scale(catalogue: Catalogue, directory: Path, sizes: list[int], seed: int) -> None:
    """How ``validate`` grows with the archive: seconds and peak memory of a fresh process
    per size (one provider's archive, the warm-up archive validated first)."""
    provider = "twilio-conversations"
    (directory / "warm").mkdir(parents=True, exist_ok=True)
    warm = write_archives(catalogue, directory / "warm", 2000, 0.0, seed + 1)[provider][0]
    print(f"{'records':>10} {'MB':>8} {'seconds':>9} {'events/s':>10} {'peak RSS MB':>12}")
    for size in sizes:
        folder = directory / f"scale-{size}"
        folder.mkdir(parents=True, exist_ok=True)
        # the archive holds every provider; `size` is this provider's share, scaled up
        share = write_archives(catalogue, folder, int(size / 0.4967) + 1, 0.0, seed)
        path, count = share[provider]
        completed = subprocess.run([sys.executable, "-c", _SCALE_CHILD, str(warm), provider,
                                    str(path)], capture_output=True, text=True, check=True)
        seconds, peak_kb = completed.stdout.split()
        print(f"{count:>10,} {path.stat().st_size / 1e6:>8.1f} {float(seconds):>9.2f} "
              f"{count / float(seconds):>10,.0f} {int(peak_kb) / 1024:>12.1f}")
        for file in folder.iterdir():
            file.unlink()


# --------------------------------------------------------------------------- timing


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


Timing = tuple[float, float, int, int]
"""Best wall seconds, best CPU seconds of this process, payloads, payloads flagged."""


def _time(run: Callable[[str, Path], tuple[int, int]], archives: dict[str, tuple[Path, int]],
          repeat: int) -> Iterator[tuple[str, Timing]]:
    """Best-of-``repeat`` wall and CPU time per provider."""
    for provider, (path, _count) in sorted(archives.items()):
        walls: list[float] = []
        cpus: list[float] = []
        payloads = flagged = 0
        for _ in range(repeat):
            start, cpu = time.perf_counter(), time.process_time()
            payloads, flagged = run(provider, path)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
        yield provider, (min(walls), min(cpus), payloads, flagged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000, help="archive size (100000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best is kept (3)")
    parser.add_argument("--dirty", type=float, default=0.0,
                        help="fraction of records given an unknown field (drift), e.g. 0.01")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-repeat", type=int, default=1,
                        help="timed runs of the (slow) baseline, best is kept (1)")
    parser.add_argument("--contract-baseline", action="store_true",
                        help="also time (b') jsonschema over the contracts as on disk "
                        "(not strict: finds no drift)")
    parser.add_argument("--dir", type=Path, help="keep the archives here")
    parser.add_argument("--scale", type=int, nargs="+", metavar="N",
                        help="instead: seconds and peak memory of validate per archive size")
    args = parser.parse_args(argv)

    pinned = _pin_one_core()
    start = time.perf_counter()
    catalogue = load_catalogue()
    engine = engine_for(catalogue)
    engine_seconds = time.perf_counter() - start

    with contextlib.ExitStack() as stack:
        if args.dir:
            args.dir.mkdir(parents=True, exist_ok=True)
            directory = args.dir
        else:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        start = time.perf_counter()
        archives = write_archives(catalogue, directory, args.events, args.dirty, args.seed)
        generated = time.perf_counter() - start
        total = sum(n for _, n in archives.values())
        size = sum(p.stat().st_size for p, _ in archives.values())

        if args.scale:
            scale(catalogue, directory, args.scale, args.seed)
            return 0
        contenders: list[tuple[str, Callable[[str, Path], tuple[int, int]], int]] = [
            ("(a) hookproof validate", run_hookproof, args.repeat),
            ("(f) floor: orjson + jsonschema_rs is_valid", make_floor(catalogue, engine),
             args.repeat),
            ("(b) jsonschema, strict copy", make_plain(catalogue, engine, strict=True),
             args.baseline_repeat),
        ]
        if args.contract_baseline:
            contenders.append(("(b') jsonschema, contract as on disk",
                               make_plain(catalogue, engine, strict=False),
                               args.baseline_repeat))

        # Warm-up on a small archive of every event: compiles each contender's validators
        # (a one-off per process), so the timed runs measure steady state.
        warm_dir = directory / "warm"
        warm_dir.mkdir()
        warm = write_archives(catalogue, warm_dir, 3000, args.dirty, args.seed + 1)
        start = time.perf_counter()
        for provider, (path, _) in warm.items():
            run_hookproof(provider, path)
        cold = engine_seconds + time.perf_counter() - start
        for _, run, _ in contenders[1:]:
            for provider, (path, _) in warm.items():
                run(provider, path)

        results: dict[str, dict[str, Timing]] = {}
        for label, run, repeat in contenders:
            results[label] = dict(_time(run, archives, repeat))

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    def rate(label: str, row: str, which: int) -> float:
        timings = results[label].values() if row == "all" else [results[label][row]]
        seconds = sum(t[which] for t in timings)
        count = total if row == "all" else archives[row][1]
        return count / seconds if seconds else float("inf")

    print(f"Python {platform.python_version()} ({platform.machine()}), jsonschema "
          f"{version('jsonschema')}, jsonschema-rs {version('jsonschema-rs')}; {pinned}; "
          f"load average {os.getloadavg()[0]:.2f} over {os.cpu_count()} CPU(s)")
    print(f"archive: {total:,} events, {size / 1e6:.1f} MB JSONL in {len(archives)} files "
          f"(generated in {generated:.1f} s); dirty fraction {args.dirty}; best of "
          f"{args.repeat} for (a), of {args.baseline_repeat} for the baseline(s)")
    print(f"start-up of (a): catalogue + engine + compiling validators: {cold:.2f} s "
          "(not in the figures)\n")

    labels = list(results)
    short = [label.split()[0] for label in labels]
    columns = [f"{s} {kind}" for s in short for kind in ("wall", "cpu")]
    head = f"{'provider':<22}{'events':>9}" + "".join(f"{c:>15}" for c in columns)
    head += f"{'f/a wall':>10}{'a/b wall':>10}"
    print(head)
    print("-" * len(head))
    for row in [*sorted(archives), "all"]:
        count = total if row == "all" else archives[row][1]
        cells = [rate(label, row, which) for label in labels for which in (0, 1)]
        print(f"{row:<22}{count:>9,}" + "".join(f"{c:>10,.0f} ev/s" for c in cells)
              + f"{cells[2] / cells[0]:>9.2f}x{cells[0] / cells[4]:>9.1f}x")
    print("\nwall: events per second of wall-clock time; cpu: per second of this process's "
          "CPU time\n(other load on the machine lowers `wall`, hardly `cpu`):")
    for label in labels:
        print(f"  {label}")

    # Cross-check: every contender saw every record; (a) and (b) flagged the same number.
    pairs = list(zip(short, labels, strict=True))
    flagged = {s: sum(t[3] for t in results[label].values()) for s, label in pairs}
    seen = {s: sum(t[2] for t in results[label].values()) for s, label in pairs}
    print(f"\nrecords seen: {seen[short[0]]:,}; flagged (error or drift): "
          + ", ".join(f"{s} {n:,}" for s, n in flagged.items()))
    a_wall, a_cpu = rate(labels[0], "all", 0), rate(labels[0], "all", 1)
    print(f"target for (a): >= {TARGET:,} events/s -> {a_wall:,.0f} events/s wall, "
          f"{a_cpu:,.0f} per CPU-second: "
          + ("met" if a_wall >= TARGET else
             "met per CPU-second only (the machine is loaded: rerun on an idle one)"
             if a_cpu >= TARGET else "NOT met"))
    floor_ratio = rate(labels[1], "all", 0) / a_wall
    print(f"target against the floor: (a) within 1.5x of (f) -> {floor_ratio:.2f}x: "
          + ("met" if floor_ratio <= 1.5 else "NOT met"))
    if any(n != total for n in seen.values()) or len(set(flagged.values())) != 1:
        print("MISMATCH between contenders (records seen or flagged)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
