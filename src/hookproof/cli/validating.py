"""``hookproof validate``: payload files, JSONL archives and HAR captures against
the contracts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hookproof.cli.common import (
    secret_from,
)


def _cmd_validate(args: argparse.Namespace) -> int:
    from hookproof.catalogue.files import validate_files

    return validate_files(
        [Path(f) for f in args.files],
        provider=args.provider,
        event=args.event,
        out=sys.stdout,
        show_drift=not args.no_drift,
        secret=secret_from(args.secret_env) if args.secret_env else None,
    )


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "validate",
        help="check payload files (JSON, raw form body, JSONL, HAR) against the contracts",
        description="Prints FILE:LINE: JSON_PATH: MESSAGE for each error, then each drift "
        "(unknown fields, undocumented enum values). Exit 0 clean (drift allowed), "
        "1 errors found, 2 unusable input.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--provider", required=True)
    p.add_argument("--event", help="the event, where the payload does not name it; for a "
                   "provider that names events by a header and the body (GitHub), the header's "
                   "value: --event pull_request, the body's action completes the name")
    p.add_argument("--no-drift", action="store_true", help="do not list drift, only count it")
    p.add_argument("--secret-env", metavar="VAR", help="HAR input: verify each recorded "
                   "delivery's signature with the secret held in this environment variable")
    p.set_defaults(handler=_cmd_validate)
