"""Suite wall time against the reference receiver, next to the floor, in one run.

The floor is the same requests (recorded while the suite ran) sent by a bare keep-alive
``requests.Session`` loop: what any client must pay for those exchanges. The suite's cost
above it is signing, building, grading and pytest itself.

    python bench/bench_suite.py            # all five providers
    python bench/bench_suite.py --repeat 3 # best of 3

Only 127.0.0.1 is ever a target.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

PROVIDERS = ("twilio-conversations", "twilio-orchestrator", "twilio-frontline", "varda",
             "operator")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.05)
    raise SystemExit(f"the reference receiver did not start at {url}")


def run_suite(base: str, provider: str, record: Path, env: dict[str, str],
              reports: Path, fuzz_examples: int | None) -> tuple[float, float]:
    """The suite's wall time (process start included) and pytest's own session time."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               "--target-url", f"{base}/{provider}", "--provider", provider,
               "--effects-url", f"{base}/{provider}/effects", "--secret-env", "BENCH_SECRET",
               "--hookproof-reports", str(reports / provider)]
    if fuzz_examples is not None:
        command += ["--fuzz-examples", str(fuzz_examples)]
    started = time.perf_counter()
    completed = subprocess.run(command, env={**env, "HOOKPROOF_RECORD_REQUESTS": str(record)},
                               capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout.decode()[-3000:])
        raise SystemExit(f"the suite failed for {provider}")
    session = re.search(rb" in ([0-9.]+)s", completed.stdout.splitlines()[-1])
    return elapsed, float(session.group(1)) if session else elapsed


@contextlib.contextmanager
def receiver(port: int, db: Path, env: dict[str, str]) -> Iterator[None]:
    """The reference receiver in its own process on 127.0.0.1, with a new database."""
    server = subprocess.Popen(
        [sys.executable, "-m", "hookproof.cli", "serve", "--port", str(port), "--db", str(db),
         "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def floor(record: Path) -> tuple[int, float]:
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    session = requests.Session()
    session.trust_env = False
    started = time.perf_counter()
    for entry in lines:
        response = session.request(entry["method"], entry["url"], headers=entry["headers"],
                                   data=base64.b64decode(entry["body"]) or None,
                                   allow_redirects=False, timeout=30)
        response.close()
    return len(lines), time.perf_counter() - started


def first_delivery(command: list[str], port: int, env: dict[str, str]) -> float:
    """Seconds from starting ``command`` to the first connection on ``port`` (a listener
    that answers 200 to everything, so the suite runs on after it)."""
    import http.server
    import threading

    arrived: list[float] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            if not arrived:
                arrived.append(time.perf_counter())
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        while not arrived and process.poll() is None:
            time.sleep(0.002)
        process.kill()
        process.wait()
    finally:
        server.shutdown()
        server.server_close()
    if not arrived:
        raise SystemExit(f"no delivery arrived from {command}")
    return arrived[0] - started


def startup(repeat: int) -> None:
    """Start-up to the first delivery: as `hookproof run` and `demo` start each pytest
    (only the plugins asked for), and as a plain `pytest --target-url` (every installed
    plugin autoloaded)."""
    port = free_port()
    env = dict(os.environ, BENCH_SECRET="startup-secret")
    suite = ["-m", "pytest", "-p", "no:cacheprovider", "-q", "--target-url",
             f"http://127.0.0.1:{port}/varda", "--provider", "varda", "--secret-env",
             "BENCH_SECRET", "--hookproof-reports", tempfile.mkdtemp()]
    runs = {
        "hookproof run / demo child (PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 -p hookproof.plugin)":
            ([sys.executable, *suite[:4], "-p", "hookproof.plugin", *suite[4:]],
             {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}),
        "plain pytest --target-url (every installed plugin)": ([sys.executable, *suite], env),
    }
    for label, (command, run_env) in runs.items():
        times = sorted(first_delivery(command, port, run_env) for _ in range(repeat))
        print(f"{label}: median {times[len(times) // 2]:.3f} s, best {times[0]:.3f} s "
              f"(of {repeat})")


def targets_scale(counts: list[int], jobs: int, fuzz_examples: int | None) -> None:
    """`hookproof run` over N targets, each its own reference receiver (a process with its
    own database and port; the five providers in turn): wall time per target count."""
    secret = secrets.token_urlsafe(16)
    env = dict(os.environ, BENCH_SECRET=secret, HOOKPROOF_SECRET=secret)
    print(f"{'targets':>8} {'checks':>8} {'wall s':>8} {'s / target':>11}")
    for count in counts:
        with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
            work = Path(scratch)
            ports = [free_port() for _ in range(count)]
            servers = [subprocess.Popen(
                [sys.executable, "-m", "hookproof.cli", "serve", "--port", str(port), "--db",
                 str(work / f"{port}.sqlite3"), "--log-level", "warning"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in ports]
            for server in servers:
                stack.callback(server.wait, 10)
                stack.callback(server.terminate)
            for port in ports:
                wait_for(f"http://127.0.0.1:{port}/healthz", timeout=60)
            lines = ["targets:"]
            for index, port in enumerate(ports):
                provider = PROVIDERS[index % len(PROVIDERS)]
                base = f"http://127.0.0.1:{port}/{provider}"
                lines += [f"  - name: t{index}-{provider}", f"    url: {base}",
                          f"    provider: {provider}", "    secret_env: BENCH_SECRET",
                          f"    effects_url: {base}/effects"]
            config = work / "hookproof.yaml"
            config.write_text("\n".join(lines) + "\n")
            command = [sys.executable, "-m", "hookproof.cli", "run", "--config", str(config),
                       "--jobs", str(jobs), "--reports", str(work / "reports")]
            if fuzz_examples is not None:
                command += ["--", "--fuzz-examples", str(fuzz_examples)]
            started = time.perf_counter()
            completed = subprocess.run(command, env=env, capture_output=True, check=False)
            wall = time.perf_counter() - started
            if completed.returncode != 0:
                sys.stderr.write(completed.stdout.decode()[-2000:])
                raise SystemExit(f"hookproof run failed for {count} targets")
            report = json.loads((work / "reports" / "conformance.json").read_text())
            checks = sum(t["summary"]["checks"] for t in report["targets"])
            print(f"{count:>8} {checks:>8} {wall:>8.2f} {wall / count:>11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="best of N")
    parser.add_argument("--fuzz-examples", type=int, default=None,
                        help="passed to the suite (default: the suite's own default)")
    parser.add_argument("--startup", action="store_true",
                        help="instead: start-up to the first delivery")
    parser.add_argument("--targets", type=int, nargs="+", metavar="N",
                        help="instead: `hookproof run` over N targets, for each N")
    parser.add_argument("--jobs", type=int, default=2, help="with --targets: run --jobs")
    args = parser.parse_args()
    if args.startup:
        startup(max(args.repeat, 5))
        return
    if args.targets:
        targets_scale(args.targets, args.jobs, args.fuzz_examples)
        return
    port = free_port()
    secret = secrets.token_urlsafe(16)
    env = dict(os.environ, BENCH_SECRET=secret, HOOKPROOF_SECRET=secret)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        base = f"http://127.0.0.1:{port}"
        rows = []
        for provider in PROVIDERS:
            best_suite = best_session = best_floor = float("inf")
            count = 0
            for attempt in range(args.repeat):
                record = work / f"{provider}.jsonl"
                record.unlink(missing_ok=True)
                # a fresh receiver (new database) for the suite and another for the floor:
                # both find every delivery new, so the receiver does the same work for each
                with receiver(port, work / f"{provider}-{attempt}-suite.sqlite3", env):
                    wall, session = run_suite(base, provider, record, env, work,
                                              args.fuzz_examples)
                with receiver(port, work / f"{provider}-{attempt}-floor.sqlite3", env):
                    count, elapsed = floor(record)
                best_suite, best_session = min(best_suite, wall), min(best_session, session)
                best_floor = min(best_floor, elapsed)
            rows.append((provider, count, best_suite, best_session, best_floor))
    print(f"{'provider':22} {'requests':>8} {'wall s':>7} {'session s':>9} {'floor s':>8} "
          f"{'wall/floor':>10} {'session/floor':>13}")
    total = ["all five", 0, 0.0, 0.0, 0.0]
    for provider, count, wall, session, bare in rows:
        print(f"{provider:22} {count:8d} {wall:7.2f} {session:9.2f} {bare:8.2f} "
              f"{wall / bare:10.1f} {session / bare:13.1f}")
        total = [total[0], total[1] + count, total[2] + wall, total[3] + session,
                 total[4] + bare]
    _, count, wall, session, bare = total
    print(f"{'all five':22} {count:8d} {wall:7.2f} {session:9.2f} {bare:8.2f} "
          f"{wall / bare:10.1f} {session / bare:13.1f}")
    print("wall = `pytest --target-url` process, start-up included; session = pytest's own "
          "time; floor = the same requests replayed by a bare keep-alive loop")


if __name__ == "__main__":
    main()
