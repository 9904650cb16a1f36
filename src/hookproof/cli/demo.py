"""``hookproof demo``: the suite against the bundled reference receiver, all five
providers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEMO_PUBLIC_URL = "https://hooks.example.com"
"""The public URL the demo's platforms sign; the receiver trusts the proxy headers hookproof
sends with it, as a receiver behind a TLS-terminating proxy does."""


def _cmd_demo(args: argparse.Namespace) -> int:
    import os
    import secrets

    from hookproof.catalogue import load_catalogue
    from hookproof.cli.run import TargetSpec, run_targets
    from hookproof.receiver.app import create_app
    from hookproof.receiver.config import ReceiverConfig
    from hookproof.receiver.server import BackgroundServer

    # A throwaway secret shared by the embedded receiver and the suite, never printed.
    env = dict(os.environ, HOOKPROOF_DEMO_SECRET=secrets.token_urlsafe(24))
    catalogue = load_catalogue()
    app = create_app(ReceiverConfig(environ={"HOOKPROOF_SECRET": env["HOOKPROOF_DEMO_SECRET"]}))
    cwd = Path.cwd()
    with BackgroundServer(app) as server:
        print(f"hookproof demo: reference receiver on {server.url}, played as deployed behind "
              f"a TLS proxy at {DEMO_PUBLIC_URL} (the URL the platforms sign)", flush=True)
        targets = [
            TargetSpec(name=p, provider=p, url=f"{server.url}/{p}",
                       secret_env="HOOKPROOF_DEMO_SECRET",
                       signing_url=f"{DEMO_PUBLIC_URL}/{p}",
                       effects_url=f"{server.url}/{p}/effects")
            # the provider with most events first: the longest run starts first
            for p in sorted(catalogue.providers,
                            key=lambda p: (-len(catalogue.providers[p].events), p))
        ]
        reports = Path(args.reports)
        return run_targets(targets,
                           reports_dir=reports if reports.is_absolute() else cwd / reports,
                           pytest_args=args.pytest_args, cwd=cwd, jobs=args.jobs, env=env)


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser("demo", help="the suite for all five providers against the bundled "
                       "reference receiver; writes reports/")
    p.add_argument("--reports", default="reports")
    p.add_argument("--jobs", type=int, default=None,
                   help="providers run at once, each in its own process (default: CPUs)")
    p.set_defaults(handler=_cmd_demo, pytest_args=[])
