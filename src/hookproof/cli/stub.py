"""``hookproof stub serve``: the platform's REST API, stubbed, on loopback."""

from __future__ import annotations

import argparse
from typing import Any

from hookproof.cli.common import (
    EXIT_OK,
    port,
)
from hookproof.errors import UsageError


def _cmd_stub_serve(args: argparse.Namespace) -> int:
    import socket

    from hookproof.catalogue.platform_stub import serve

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise UsageError(f"--host {args.host}: the platform stub serves loopback only")
    with socket.socket(socket.AF_INET6 if args.host == "::1" else socket.AF_INET) as probe:
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            raise UsageError(f"--port {args.port}: cannot listen on {args.host} "
                             f"({exc.strerror or exc})") from None
    base = f"http://{args.host}:{args.port}"
    print(f"hookproof platform stub on {base}: the Conversations API at {base}/v1/..., the "
          f"Frontline API at {base}/frontline/v1/...; every call is printed", flush=True)
    serve(host=args.host, port=args.port)
    return EXIT_OK


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser("stub", help="the platform's REST API, stubbed, for a receiver in "
                       "another process (`hookproof stub serve`)")
    stub = p.add_subparsers(dest="stub_command", metavar="ACTION", required=True)
    q = stub.add_parser("serve", help="answer Conversations, Participant, Message and User "
                        "calls on loopback as the in-process stub does")
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=port, default=8089)
    q.set_defaults(handler=_cmd_stub_serve)
