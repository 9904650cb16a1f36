"""``hookproof listen``: live deliveries graded on their way to the receiver."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hookproof.cli.common import (
    copies,
    mebibytes,
    port,
    secret_from,
)
from hookproof.traffic import RECORD_LIMIT_MIB


def _cmd_listen(args: argparse.Namespace) -> int:
    from hookproof.catalogue import load_catalogue
    from hookproof.reach.settings import check_url
    from hookproof.traffic.listen import run_listen

    load_catalogue().provider(args.provider)
    check_url(args.forward_to, "--forward-to")
    if args.public_url:
        check_url(args.public_url, "--public-url")
    return run_listen(args.provider, port=args.port, forward_to=args.forward_to,
                      secret=secret_from(args.secret_env), public_url=args.public_url,
                      record=Path(args.record) if args.record else None,
                      max_deliveries=args.max_deliveries, reports=Path(args.reports),
                      out=sys.stdout, record_limit_mib=args.record_limit)


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "listen", help="forward live deliveries to a receiver, grading them on the way",
        description="A forwarding receiver to register as the platform's webhook URL (behind "
        "your own tunnel): each delivery's signature is checked, its payload validated, it is "
        "forwarded unchanged to --forward-to, and the receiver's answer graded and given back "
        "unchanged. One line per delivery; Ctrl-C or --max-deliveries ends it and writes the "
        "report. Exit 0 every delivery conforms, 1 otherwise, 2 unusable input.")
    p.add_argument("--provider", required=True)
    p.add_argument("--port", type=port, default=8787)
    p.add_argument("--forward-to", required=True, metavar="URL")
    p.add_argument("--public-url", metavar="URL",
                   help="the base URL the platform signs (default: the URL as received)")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET", metavar="VAR")
    p.add_argument("--record", metavar="FILE", help="keep every exchange (.jsonl or .har)")
    p.add_argument("--record-limit", type=mebibytes, default=RECORD_LIMIT_MIB, metavar="MIB",
                   help=f"stop recording after this many MiB (default {RECORD_LIMIT_MIB}; "
                   "deliveries are still graded)")
    p.add_argument("--max-deliveries", type=copies, metavar="N")
    p.add_argument("--reports", default="reports", help="report directory (default reports/)")
    p.set_defaults(handler=_cmd_listen)
