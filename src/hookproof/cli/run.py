"""``hookproof run``: the suite against several targets; one report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hookproof.errors import UsageError


def _cmd_run(args: argparse.Namespace) -> int:
    from hookproof.run import TargetSpec, load_config, run_targets

    cwd = Path.cwd()
    if args.url:
        if not args.provider:
            raise UsageError("hookproof run URL needs --provider")
        targets = [TargetSpec(name=args.provider, provider=args.provider, url=args.url,
                              secret_env=args.secret_env, effects_url=args.effects_url)]
    else:
        targets, _source = load_config(Path(args.config) if args.config else None, cwd)
        if not targets:
            raise UsageError("no targets: give URL --provider P, or list targets in "
                             "hookproof.yaml or [tool.hookproof] of pyproject.toml")
    if args.target:
        wanted = set(args.target)
        unknown = wanted - {t.name for t in targets}
        if unknown:
            raise UsageError(f"--target: unknown target(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(t.name for t in targets)}")
        targets = [t for t in targets if t.name in wanted]
    reports = Path(args.reports)
    return run_targets(targets, reports_dir=reports if reports.is_absolute() else cwd / reports,
                       pytest_args=args.pytest_args, cwd=cwd, jobs=args.jobs)


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "run", help="run the suite against several targets (config) or one URL; one report",
        description="Targets from hookproof.yaml or [tool.hookproof] in pyproject.toml, or "
        "one URL with --provider. Arguments after -- go to pytest. Exit 0 every target "
        "conformant, 1 failures, 2 a target could not be run.")
    p.add_argument("url", nargs="?", help="a single target URL (then --provider is needed)")
    p.add_argument("--provider")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET")
    p.add_argument("--effects-url")
    p.add_argument("--config", help="hookproof.yaml or pyproject.toml (default: ./ either)")
    p.add_argument("--target", action="append", help="only this target (repeatable)")
    p.add_argument("--reports", default="reports", help="report directory (default reports/)")
    p.add_argument("--jobs", type=int, default=None,
                   help="targets run at once, each in its own process (default: CPUs)")
    p.set_defaults(handler=_cmd_run, pytest_args=[])
