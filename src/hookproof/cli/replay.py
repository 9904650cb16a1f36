"""``hookproof replay``: recorded deliveries sent again and judged."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hookproof.cli.common import (
    copies,
    secret_from,
)
from hookproof.errors import UsageError


def _cmd_replay(args: argparse.Namespace) -> int:
    from hookproof.reach.settings import check_url
    from hookproof.traffic.replay import export_examples, replay

    if args.export_examples:
        return export_examples(Path(args.file), args.provider, Path(args.export_examples),
                               out=sys.stdout)
    if not args.target_url:
        raise UsageError("replay needs --target-url URL (or --export-examples DIR)")
    check_url(args.target_url, "--target-url")
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    code = replay(Path(args.file), provider_id=args.provider, target_url=args.target_url,
                  secret=secret_from(args.secret_env), as_recorded=args.as_recorded, events=events,
                  limit=args.limit, concurrency=args.concurrency, signing_url=args.signing_url,
                  out=sys.stdout)
    return code


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "replay", help="send recorded deliveries to a receiver again and judge the answers",
        description="Recorded deliveries (hookproof listen --record, or a HAR capture), "
        "re-signed for --target-url (or byte for byte with --as-recorded), judged with the "
        "suite's own judges. --export-examples DIR writes them as valid examples of the "
        "contracts instead. Exit 0 every answer conforms, 1 otherwise, 2 unusable input.")
    p.add_argument("file")
    p.add_argument("--provider", required=True)
    p.add_argument("--target-url", metavar="URL")
    p.add_argument("--signing-url", metavar="URL")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET", metavar="VAR")
    p.add_argument("--as-recorded", action="store_true")
    p.add_argument("--events", default="", metavar="E1,E2")
    p.add_argument("--limit", type=copies, metavar="N")
    p.add_argument("--concurrency", type=int, default=1, metavar="N")
    p.add_argument("--export-examples", metavar="DIR")
    p.set_defaults(handler=_cmd_replay)
