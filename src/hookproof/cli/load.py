"""``hookproof load``: deliveries at a rate, on Locust."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hookproof.cli.common import (
    port,
)


def _cmd_load(args: argparse.Namespace) -> int:
    import hookproof.traffic.load as load_module  # first: Locust patches the process with gevent

    options = load_module.LoadOptions(
        provider=args.provider, target_url=args.target_url, rate=args.rate,
        duration=args.duration, users=args.users,
        events=tuple(e.strip() for e in (args.events or "").split(",") if e.strip()),
        duplicates=args.duplicates, ramp=args.ramp, secret_env=args.secret_env,
        signing_url=args.signing_url, hook_urls=tuple(args.hook_url or ()),
        effects_url=args.effects_url, effects_wait=args.effects_wait, max_p95=args.max_p95,
        max_error_rate=args.max_error_rate, reports_dir=Path(args.reports),
        master=args.master, expect_workers=args.expect_workers, worker=args.worker,
        master_host=args.master_host, master_port=args.master_port, seed=args.seed)
    return load_module.load(options)


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser("load", help="deliveries at a rate, on Locust: latency against the "
                       "budget, errors, exactly-once processing (see README: Load)")
    p.add_argument("--provider", required=True)
    p.add_argument("--target-url", required=True)
    p.add_argument("--rate", type=float, default=10.0, help="deliveries per second (10)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds (10)")
    p.add_argument("--users", type=int, help="concurrent senders (default: rate / 2)")
    p.add_argument("--events", help="only these events (comma-separated; default: all)")
    p.add_argument("--duplicates", type=float, default=0.0,
                   help="fraction re-sent as platform retries (same dedupe key), e.g. 0.1")
    p.add_argument("--ramp", type=float, default=0.0, help="seconds to reach every user")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET")
    p.add_argument("--signing-url")
    p.add_argument("--hook-url", action="append", metavar="GROUP=URL")
    p.add_argument("--effects-url", help="the effects probe: exactly-once is proved with it")
    p.add_argument("--effects-wait", type=float, default=2.0)
    p.add_argument("--max-p95", type=float,
                   help="seconds (default: each event's platform budget)")
    p.add_argument("--max-error-rate", type=float, default=0.0,
                   help="fraction of deliveries that may fail (default: 0)")
    p.add_argument("--reports", default="reports", help="where load.json/.md/.html go")
    p.add_argument("--master", action="store_true", help="run as Locust master")
    p.add_argument("--expect-workers", type=int, default=1)
    p.add_argument("--worker", action="store_true", help="run as a Locust worker")
    p.add_argument("--master-host", default="127.0.0.1")
    p.add_argument("--master-port", type=port, default=5557)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_load)
