"""What the reference receiver sustains under `hookproof load`, and the same load distributed.

    python bench/bench_load.py                        # rates 50..800/s, 8 s each, varda
    python bench/bench_load.py --rates 100 200 --duration 5 --provider twilio-conversations

For each rate: a fresh reference receiver (`hookproof serve`, its own process and database)
and `hookproof load` at that rate with 10 % retries and the effects probe. The highest rate
whose verdict holds (p95 within the budget, no error, every acknowledged delivery processed
exactly once) is what it sustains here. Then that rate again, from one Locust master and two
workers, for the same verdict. Only 127.0.0.1 is ever a target.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_receiver(port: int, db: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "hookproof.cli", "serve", "--port",
                               str(port), "--db", str(db), "--log-level", "warning"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("the reference receiver did not start")


def load(provider: str, port: int, rate: float, duration: float, reports: Path,
         env: dict[str, str], extra: list[str] | None = None) -> list[str]:
    base = f"http://127.0.0.1:{port}/{provider}"
    return [sys.executable, "-m", "hookproof.cli", "load", "--provider", provider,
            "--target-url", base, "--effects-url", f"{base}/effects", "--secret-env",
            "BENCH_SECRET", "--rate", str(rate), "--duration", str(duration),
            "--duplicates", "0.1", "--reports", str(reports), *(extra or [])]


def row(report: dict[str, Any]) -> str:
    p95 = max(e["p95_s"] for e in report["events"]) * 1000
    errors = sum(e["errors"] for e in report["events"])
    once = sum(e["exactly_once"]["once"] for e in report["events"] if e["exactly_once"])
    acked = sum(e["exactly_once"]["acknowledged"] for e in report["events"]
                if e["exactly_once"])
    return (f"{report['rate']:>7g} {report['achieved_rate']:>9.1f} {report['deliveries']:>10} "
            f"{p95:>9.1f} {errors:>7} {once:>6}/{acked:<6} "
            f"{'holds' if report['ok'] else 'does NOT hold'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", default="varda")
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200, 400, 800])
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(16)
    env = dict(os.environ, BENCH_SECRET=secret, HOOKPROOF_SECRET=secret)
    print(f"{'asked/s':>7} {'achieved/s':>9} {'deliveries':>10} {'p95 ms':>9} {'errors':>7} "
          f"{'processed once':>13} verdict")
    sustained = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for rate in args.rates:
            port = free_port()
            server = start_receiver(port, work / f"{rate}.sqlite3", env)
            try:
                reports = work / f"local-{rate}"
                subprocess.run(load(args.provider, port, rate, args.duration, reports, env),
                               env=env, capture_output=True, check=False, timeout=600)
            finally:
                server.terminate()
                server.wait(10)
            report = json.loads((reports / "load.json").read_text())
            print(row(report), flush=True)
            if report["ok"] and report["achieved_rate"] >= 0.9 * rate:
                sustained = rate
        print(f"sustained: {sustained:g} deliveries/s (p95 within the budget, no error, "
              "every acknowledged delivery processed once, at least 90 % of the rate asked)")
        if not sustained:
            return 1
        port = free_port()
        server = start_receiver(port, work / "distributed.sqlite3", env)
        master_port = free_port()
        try:
            reports = work / "distributed"
            common = ["--master-port", str(master_port)]
            master = subprocess.Popen(
                load(args.provider, port, sustained, args.duration, reports, env,
                     [*common, "--master", "--expect-workers", "2"]), env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            workers = [subprocess.Popen(
                load(args.provider, port, sustained, args.duration, work / f"w{i}", env,
                     [*common, "--worker"]), env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL) for i in range(2)]
            master.wait(600)
            for worker in workers:
                worker.wait(120)
        finally:
            server.terminate()
            server.wait(10)
        report = json.loads((reports / "load.json").read_text())
        print(f"one master + {report['workers']} workers at {sustained:g}/s:")
        print(row(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
