"""``hookproof serve``: the reference receiver."""

from __future__ import annotations

import argparse
from typing import Any

from hookproof.cli.common import (
    EXIT_OK,
    db_file,
    port,
)
from hookproof.errors import UsageError


def _cmd_serve(args: argparse.Namespace) -> int:
    from hookproof.receiver.server import serve

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        raise UsageError(f"--host {args.host}: the reference receiver serves loopback only "
                         "(add --allow-remote to listen elsewhere)")
    from hookproof.catalogue import load_catalogue

    prefixes = ", ".join(
        f"/{p.id}" + (f"[{'|'.join(x for x in p.hook_groups.values() if x)}]"
                      if any(p.hook_groups.values()) else "")
        for p in load_catalogue().providers.values())
    print(f"hookproof reference receiver on http://{args.host}:{args.port} "
          f"(prefixes: {prefixes}; effects: /<provider>/effects)", flush=True)
    serve(host=args.host, port=args.port, db=args.db, public_url=args.public_url,
          log_level=args.log_level)
    return EXIT_OK


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser("serve", help="run the reference receiver (all five providers)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port, default=8000)
    p.add_argument("--db", type=db_file,
                   help="SQLite file of deliveries (default: a new temporary file)")
    p.add_argument("--public-url", help="base URL the platform calls, behind a proxy")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--allow-remote", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=_cmd_serve)
