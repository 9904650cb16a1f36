"""``hookproof load``: deliveries at a rate, on Locust, judged for latency, errors and
exactly-once processing.

Locust is used as a library: its :class:`~locust.env.Environment`, a ``FastHttpUser`` whose
task sends one delivery, its stats for the latency percentiles, and its own master/worker
distribution (``--master --expect-workers N`` / ``--worker --master-host H``). Every request
is a real delivery: a bundled example with fresh SIDs and ids, signed over its final bytes,
with a fresh dedupe key; a chosen fraction is sent again as the platform retries (the same
key, a later timestamp, signed anew). After the run, the effects probe says, for each
acknowledged delivery, how many times it was processed: once, or lost (0), or twice.

Importing this module imports Locust, which patches the process with gevent: only the
``load`` command imports it, first.
"""

from __future__ import annotations

import math
import random
import re
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import gevent
import locust
from locust import FastHttpUser, constant_throughput, task
from locust.env import Environment

from hookproof.catalogue import Event, Provider, load_catalogue
from hookproof.catalogue.examples import canonical_example, fresh_ids
from hookproof.errors import UsageError
from hookproof.reach.builder import Delivery, DeliveryBuilder
from hookproof.reach.settings import check_env_name, check_url

MAX_RATE = 2000.0
"""Deliveries a second at most: what one machine's Locust workers can sign and send."""
MAX_USERS = 1000
MAX_DURATION = 3600.0
MAX_DELIVERIES = 500_000
"""rate x duration at most: every delivery is kept until it is reconciled."""
PROBE_CONCURRENCY = 20
RETRY_AFTER = 1.5
"""Seconds after its first delivery at the earliest that a delivery is sent again."""
RECORDS_PER_MESSAGE = 5000
WORKER_WAIT = 60.0

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


@dataclass(frozen=True)
class LoadOptions:
    provider: str
    target_url: str
    rate: float = 10.0
    duration: float = 10.0
    users: int | None = None
    events: tuple[str, ...] = ()
    duplicates: float = 0.0
    ramp: float = 0.0
    secret_env: str = "HOOKPROOF_SECRET"
    signing_url: str | None = None
    hook_urls: tuple[str, ...] = ()
    effects_url: str | None = None
    effects_wait: float = 2.0
    max_p95: float | None = None
    """Seconds; default: each event's platform budget."""
    max_error_rate: float = 0.0
    reports_dir: Path = Path("reports")
    master: bool = False
    expect_workers: int = 1
    worker: bool = False
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    seed: int = 0

    @property
    def user_count(self) -> int:
        """Users (concurrent senders): each sends at most ``rate / users`` a second, so a
        slow answer holds one user, not the rate (default: one user per 2 deliveries/s)."""
        return self.users or max(1, min(MAX_USERS, math.ceil(self.rate / 2)))


def check_options(options: LoadOptions) -> None:
    """Every bound, before anything is sent (a usage error names the option)."""
    if not 0 < options.rate <= MAX_RATE:
        raise UsageError(f"--rate {options.rate:g}: give 0 < rate <= {MAX_RATE:g} deliveries/s")
    if not 0 < options.duration <= MAX_DURATION:
        raise UsageError(f"--duration {options.duration:g}: give 0 < seconds <= "
                         f"{MAX_DURATION:g}")
    if options.users is not None and not 1 <= options.users <= MAX_USERS:
        raise UsageError(f"--users {options.users}: give 1 to {MAX_USERS}")
    if options.rate * options.duration > MAX_DELIVERIES:
        raise UsageError(f"--rate x --duration is {options.rate * options.duration:,.0f} "
                         f"deliveries; at most {MAX_DELIVERIES:,} are kept for reconciliation")
    if not 0 <= options.duplicates <= 1:
        raise UsageError(f"--duplicates {options.duplicates:g}: a fraction from 0 to 1")
    if not 0 <= options.ramp <= options.duration:
        raise UsageError(f"--ramp {options.ramp:g}: from 0 to --duration seconds")
    if options.max_p95 is not None and options.max_p95 <= 0:
        raise UsageError("--max-p95: a number of seconds above 0")
    if not 0 <= options.max_error_rate <= 1:
        raise UsageError("--max-error-rate: a fraction from 0 to 1")
    if options.master and options.worker:
        raise UsageError("--master and --worker: give one of them")
    if not 1 <= options.expect_workers <= 100:
        raise UsageError("--expect-workers: 1 to 100")
    check_url(options.target_url, "--target-url")
    for url, where in ((options.signing_url, "--signing-url"),
                       (options.effects_url, "--effects-url")):
        if url:
            check_url(url, where)
    check_env_name(options.secret_env)


# -- what is sent ---------------------------------------------------------------------------------

refreshed = fresh_ids
"""Each delivery is a new event: the example with fresh SIDs, UUIDs and ids."""


@dataclass
class Sent:
    """One delivery sent, and what came of it."""

    event: str
    key: str
    at: float
    latency: float | None
    status: int | None
    retry: bool
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_row(self) -> list[Any]:
        return [self.event, self.key, round(self.at, 4),
                None if self.latency is None else round(self.latency, 5), self.status,
                self.retry, self.error]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Sent:
        return cls(row[0], row[1], float(row[2]), row[3], row[4], bool(row[5]), row[6])


class Plan:
    """What each Locust task sends: a new delivery of the next event, or a retry."""

    def __init__(self, options: LoadOptions, provider: Provider, builder: DeliveryBuilder,
                 events: Sequence[Event], lane: str = "") -> None:
        self.options = options
        self.provider = provider
        self.builder = builder
        self.events = list(events)
        # each Locust worker draws its own ids: two workers must never send the same event
        self.rng = random.Random(f"{options.seed}/{lane}")
        self.bases = {e.name: canonical_example(provider.id, e.name).payload for e in events}
        self.sent: list[Sent] = []
        self.retryable: list[tuple[float, Delivery]] = []
        """Acknowledged deliveries, oldest first, that may be sent again as retries."""
        self._next = 0

    def next_delivery(self) -> tuple[Delivery, bool]:
        if self.options.duplicates and self.rng.random() < self.options.duplicates:
            # a platform retries later, never within the second: a retry is signed at a new
            # second, so a receiver refusing a replayed signature still takes it
            ready = 0
            cutoff = time.time() - RETRY_AFTER
            while ready < len(self.retryable) and self.retryable[ready][0] <= cutoff:
                ready += 1
            if ready:
                _, original = self.retryable.pop(self.rng.randrange(ready))
                return self.builder.retry(original), True
        event = self.events[self._next % len(self.events)]
        self._next += 1
        payload = refreshed(self.bases[event.name], self.rng)
        return self.builder.build(event, payload), False


def _user_class(plan: Plan, per_user: float, timeout: float) -> type[FastHttpUser]:
    origin = re.match(r"^https?://[^/]+", plan.options.target_url)
    assert origin is not None
    base = origin.group(0)

    class WebhookDeliveries(FastHttpUser):
        """Sends one signed delivery per task, at ``rate / users`` a second."""

        host = base
        wait_time = constant_throughput(per_user)
        network_timeout = timeout
        connection_timeout = timeout
        insecure = False

        @task
        def deliver(self) -> None:
            delivery, retry = plan.next_delivery()
            request = delivery.request
            started = time.time()
            with self.client.request(request.method, request.url,
                                     data=cast(Any, request.body) if request.method != "GET"
                                     else None,  # bytes: the exact bytes that were signed
                                     headers=dict(request.headers), name=delivery.event.name,
                                     catch_response=True) as response:
                status = response.status_code or None
                latency = time.time() - started
                error = None
                if status is None or status == 0:
                    status, error = None, str(response.error or "no answer")[:200]
                    response.failure(error)
                elif not 200 <= status < 300:
                    error = f"HTTP {status}: a genuine delivery not accepted"
                    response.failure(error)
                else:
                    response.success()
            plan.sent.append(Sent(delivery.event.name, delivery.dedupe_key, started,
                                  latency if status is not None else None, status, retry,
                                  error))
            if status is not None and 200 <= status < 300 and not retry:
                plan.retryable.append((started, delivery))

    return WebhookDeliveries


# -- running ---------------------------------------------------------------------------------------


@dataclass
class LoadOutcome:
    options: LoadOptions
    provider: Provider
    events: list[Event]
    started: float
    finished: float
    sent: list[Sent]
    stats: dict[str, dict[str, Any]]
    workers: int = 0
    interrupted: bool = False
    reconciliation: dict[str, dict[str, int]] | None = None
    probe_error: str | None = None
    unreconciled: int = 0
    notes: list[str] = field(default_factory=list)


def _setup(options: LoadOptions, lane: str = ""
           ) -> tuple[Provider, list[Event], Plan, Environment]:
    import os

    from hookproof.scrub import register
    from hookproof.traffic.send import _hook_urls

    check_options(options)
    provider = load_catalogue().provider(options.provider)
    events = [provider.event(name) for name in options.events] or [
        e for e in provider.events]
    secret = os.environ.get(options.secret_env, "")
    if not secret:
        raise UsageError(f"the signing secret is not set: environment variable "
                         f"{options.secret_env} is unset or empty (choose another with "
                         "--secret-env)")
    register(secret)
    builder = DeliveryBuilder(provider, target_url=options.target_url, secret=secret,
                              signing_url=options.signing_url,
                              hook_urls=_hook_urls(provider, options.hook_urls),
                              unique_bodies=True)
    plan = Plan(options, provider, builder, events, lane)
    timeout = max(e.budget for e in events) + 2.0
    per_user = options.rate / options.user_count
    user = _user_class(plan, per_user, timeout)
    env = Environment(user_classes=[user], events=locust.events)
    env.stop_timeout = timeout  # an answer in flight when the run ends is waited for
    return provider, events, plan, env


def _stats(env: Environment, events: Sequence[Event]) -> dict[str, dict[str, Any]]:
    """Locust's own figures per event: requests, failures, latency percentiles (seconds)."""
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        entry = None
        for (name, _method), stats in env.stats.entries.items():
            if name == event.name:
                entry = stats
        if entry is None or not entry.num_requests:
            continue
        found[event.name] = {
            "requests": entry.num_requests, "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.50) / 1000,
            "p95": entry.get_response_time_percentile(0.95) / 1000,
            "p99": entry.get_response_time_percentile(0.99) / 1000,
            "max": entry.max_response_time / 1000,
        }
    return found


def run_load(options: LoadOptions) -> LoadOutcome:
    """Run the load (locally or as Locust's master) and reconcile it."""
    provider, events, plan, env = _setup(options)
    users = options.user_count
    spawn_rate = users / options.ramp if options.ramp else users
    interrupted = [False]

    def on_interrupt(*_: Any) -> None:
        # gevent runs this in its event loop, where nothing may block: the run loop below
        # sees the flag and stops the users
        interrupted[0] = True

    worker_records: dict[str, list[Sent]] = {}
    reported: set[str] = set()

    if options.master:
        runner: Any = env.create_master_runner("127.0.0.1", options.master_port)

        def on_records(environment: Any, msg: Any, **_: Any) -> None:
            data = msg.data or {}
            client = str(msg.node_id)
            worker_records.setdefault(client, []).extend(
                Sent.from_row(row) for row in data.get("rows", ()))
            if data.get("done"):
                reported.add(client)

        runner.register_message("hookproof_records", on_records)
        deadline = time.monotonic() + WORKER_WAIT
        while len(runner.clients.ready) < options.expect_workers:
            if time.monotonic() > deadline:
                runner.quit()
                raise UsageError(f"--expect-workers {options.expect_workers}: only "
                                 f"{len(runner.clients.ready)} worker(s) connected within "
                                 f"{WORKER_WAIT:g} s (start them with --worker "
                                 f"--master-host {options.master_host})")
            gevent.sleep(0.1)
    else:
        runner = env.create_local_runner()

    def stop() -> None:
        if not stopped[0]:
            stopped[0] = True
            runner.stop()

    stopped = [False]
    previous = signal.signal(signal.SIGINT, on_interrupt)
    started = time.time()
    try:
        runner.start(users, spawn_rate=spawn_rate)
        deadline = started + options.duration
        while time.time() < deadline and not interrupted[0]:
            gevent.sleep(min(0.1, max(0.0, deadline - time.time())))
        stop()
        if options.master:
            wait_until = time.monotonic() + 30
            while len(reported) < options.expect_workers and time.monotonic() < wait_until:
                gevent.sleep(0.1)
    finally:
        signal.signal(signal.SIGINT, previous)
    finished = time.time()
    sent = list(plan.sent) + [s for rows in worker_records.values() for s in rows]
    outcome = LoadOutcome(options, provider, events, started, finished, sent, _stats(env, events),
                      workers=len(worker_records) if options.master else 0,
                      interrupted=interrupted[0])
    if options.master and len(reported) < options.expect_workers:
        outcome.notes.append(f"{options.expect_workers - len(reported)} worker(s) did not "
                             "report their deliveries: those are not reconciled")
    runner.quit()
    reconcile(outcome)
    return outcome


def run_worker(options: LoadOptions) -> int:
    """A Locust worker: runs the users the master gives it, then sends the master every
    delivery it made (for the reconciliation)."""
    _, _, plan, env = _setup(options, lane=uuid.uuid4().hex)
    runner = env.create_worker_runner(options.master_host, options.master_port)

    def send_records(**_: Any) -> None:
        rows = [s.as_row() for s in plan.sent]
        plan.sent.clear()
        for start in range(0, len(rows), RECORDS_PER_MESSAGE):
            runner.send_message("hookproof_records",
                                {"rows": rows[start:start + RECORDS_PER_MESSAGE]})
        runner.send_message("hookproof_records", {"rows": [], "done": True})
        # the run is over for this worker: leave once the message is out, rather than after
        # Locust's stop timeout, when it would read the master's quit
        gevent.spawn_later(2.0, runner.greenlet.kill)

    env.events.test_stop.add_listener(send_records)  # type: ignore[no-untyped-call]
    runner.greenlet.join()
    return EXIT_OK


# -- exactly once ----------------------------------------------------------------------------------


def reconcile(outcome: LoadOutcome) -> None:
    """Ask the effects probe how many times each key was processed; count per event."""
    options = outcome.options
    if not options.effects_url:
        return
    import requests
    import requests.adapters
    from gevent.pool import Pool

    keys: dict[str, str] = {}
    acknowledged: set[str] = set()
    for sent in outcome.sent:
        keys.setdefault(sent.key, sent.event)
        if sent.acknowledged:
            acknowledged.add(sent.key)
    session = requests.Session()
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=PROBE_CONCURRENCY)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    counts: dict[str, int | None] = {}
    errors: list[str] = []

    def probe(key: str) -> None:
        try:
            answer = session.get(options.effects_url or "", params={"key": key}, timeout=10)
            count = answer.json()["count"]
            counts[key] = int(count) if isinstance(count, int) else None
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            counts[key] = None
            if not errors:
                errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")

    pool = Pool(PROBE_CONCURRENCY)
    pool.map(probe, list(keys))
    # work done after the answer shows up a moment later: look again until the wait is over
    deadline = time.monotonic() + options.effects_wait
    while time.monotonic() < deadline:
        missing = [k for k in acknowledged if counts.get(k) == 0]
        if not missing:
            break
        gevent.sleep(0.25)
        pool.map(probe, missing)
    table: dict[str, Counter[str]] = {e.name: Counter() for e in outcome.events}
    for key, event in keys.items():
        count = counts.get(key)
        row = table.setdefault(event, Counter())
        if key not in acknowledged:
            row["unacknowledged"] += 1
            if count is not None and count > 1:
                row["duplicated"] += 1
            continue
        row["acknowledged"] += 1
        if count is None:
            row["unknown"] += 1
        elif count == 0:
            row["lost"] += 1
        elif count == 1:
            row["once"] += 1
        else:
            row["duplicated"] += 1
    outcome.reconciliation = {event: {name: row.get(name, 0) for name in (
        "acknowledged", "once", "lost", "duplicated", "unacknowledged", "unknown")}
        for event, row in table.items() if sum(row.values())}
    if errors:
        outcome.probe_error = f"the effects probe {options.effects_url} failed: {errors[0]}"


# -- the verdict -----------------------------------------------------------------------------------


def document(outcome: LoadOutcome) -> dict[str, Any]:
    """The load report (``load.json``; its schema: ``load.schema.json``)."""
    options = outcome.options
    by_event: dict[str, list[Sent]] = {}
    for sent in outcome.sent:
        by_event.setdefault(sent.event, []).append(sent)
    events = []
    problems: list[str] = []
    for event in outcome.events:
        rows = by_event.get(event.name, [])
        if not rows:
            continue
        stats = outcome.stats.get(event.name, {})
        errors = sum(1 for s in rows if not s.acknowledged)
        error_rate = errors / len(rows)
        budget = options.max_p95 if options.max_p95 is not None else event.budget
        p95 = float(stats.get("p95", 0.0))
        reconciled = (outcome.reconciliation or {}).get(event.name)
        latency_ok = p95 <= budget
        errors_ok = error_rate <= options.max_error_rate
        once_ok = None if reconciled is None else (
            reconciled["lost"] == 0 and reconciled["duplicated"] == 0
            and reconciled["unknown"] == 0)
        if not latency_ok:
            problems.append(f"{event.name}: p95 {p95:.3f} s is past the {budget:g} s budget")
        if not errors_ok:
            problems.append(f"{event.name}: {errors} of {len(rows)} deliveries not accepted "
                            f"({error_rate:.1%}; at most {options.max_error_rate:.1%})")
        if once_ok is False and reconciled is not None:
            problems.append(f"{event.name}: of {reconciled['acknowledged']} acknowledged, "
                            f"{reconciled['lost']} processed 0 times, {reconciled['duplicated']}"
                            f" more than once")
        events.append({
            "event": event.name, "deliveries": len(rows),
            "retries": sum(1 for s in rows if s.retry), "errors": errors,
            "error_rate": round(error_rate, 5), "budget_s": budget,
            "p50_s": round(float(stats.get("p50", 0.0)), 4), "p95_s": round(p95, 4),
            "p99_s": round(float(stats.get("p99", 0.0)), 4),
            "max_s": round(float(stats.get("max", 0.0)), 4),
            "latency_ok": latency_ok, "errors_ok": errors_ok,
            "exactly_once": reconciled, "exactly_once_ok": once_ok,
        })
    if outcome.probe_error:
        problems.append(outcome.probe_error)
    duration = max(1e-9, outcome.finished - outcome.started)
    start = outcome.started
    seconds = math.ceil(duration)
    timeline = []
    for second in range(seconds):
        inside = [s for s in outcome.sent if second <= s.at - start < second + 1]
        answered = sorted(s.latency for s in inside if s.latency is not None)
        timeline.append({"t": second, "deliveries": len(inside),
                         "errors": sum(1 for s in inside if not s.acknowledged),
                         "p95_s": round(_percentile(answered, 0.95), 4) if answered else None})
    reconciled_all = outcome.reconciliation is not None and not outcome.probe_error
    ok = not problems and not outcome.interrupted and bool(events)
    return {
        "tool": "hookproof load", "version": _version(),
        "provider": outcome.provider.id, "target": options.target_url,
        "started": datetime.fromtimestamp(start, UTC).isoformat(timespec="seconds"),
        "duration_s": round(duration, 3), "rate": options.rate, "users": options.user_count,
        "duplicates": options.duplicates, "ramp_s": options.ramp,
        "workers": outcome.workers, "interrupted": outcome.interrupted,
        "deliveries": len(outcome.sent),
        "achieved_rate": round(len(outcome.sent) / duration, 2),
        "exactly_once_observed": reconciled_all,
        "events": events, "timeline": timeline, "problems": problems, "notes": outcome.notes,
        "ok": ok,
    }


def _percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, math.ceil(fraction * len(values)) - 1))
    return values[index]


def _version() -> str:
    from hookproof import __version__

    return __version__


def exit_code(report: Mapping[str, Any]) -> int:
    if report["interrupted"]:
        return EXIT_UNUSABLE
    return EXIT_OK if report["ok"] else EXIT_FAILED


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    lines = [f"hookproof load: {report['provider']} at {report['target']}: "
             f"{report['deliveries']} deliveries in {report['duration_s']:.1f} s "
             f"({report['achieved_rate']:.1f}/s of {report['rate']:g}/s asked, "
             f"{report['users']} users"
             + (f" on {report['workers']} workers" if report["workers"] else "") + ")"]
    for row in report["events"]:
        once = row["exactly_once"]
        processed = ("exactly-once not observed (give --effects-url)" if once is None else
                     f"{once['once']}/{once['acknowledged']} processed once, "
                     f"{once['lost']} lost, {once['duplicated']} twice")
        lines.append(f"  {row['event']:<34} p95 {row['p95_s'] * 1000:8.1f} ms (budget "
                     f"{row['budget_s']:g} s)  errors {row['errors']}/{row['deliveries']}  "
                     f"{processed}")
    for problem in report["problems"]:
        lines.append(f"  problem: {problem}")
    for note in report["notes"]:
        lines.append(f"  note: {note}")
    if report["interrupted"]:
        lines.append("interrupted: what was measured until then is reported")
    lines.append("result: " + ("the receiver holds the load" if report["ok"] else
                               "the receiver does NOT hold the load"))
    return lines


def load(options: LoadOptions, out: Any = None) -> int:
    """The ``load`` command: run, reconcile, write load.json/.md/.html; the exit code."""
    from hookproof.reports.load import write_reports

    out = out or sys.stdout
    if options.worker:
        return run_worker(options)
    outcome = run_load(options)
    report = document(outcome)
    paths = write_reports(report, options.reports_dir)
    text = "\n".join(summary_lines(report)) + "\n"
    out.write(text + f"load report: {paths['html']} (also load.json, load.md)\n")
    out.flush()
    return exit_code(report)


__all__ = ["LoadOptions", "LoadOutcome", "Sent", "check_options", "document", "load", "refreshed"]
