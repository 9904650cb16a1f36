"""``hookproof send``: one signed delivery by hand, judged."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hookproof.cli.common import (
    copies,
)


def _cmd_send(args: argparse.Namespace) -> int:
    from hookproof.traffic.send import SendOptions, send

    return send(SendOptions(
        provider=args.provider, event=args.event, target_url=args.target_url,
        example=args.example, data=Path(args.data) if args.data else None,
        secret_env=args.secret_env, signing_url=args.signing_url, method=args.method,
        hook_urls=tuple(args.hook_url or ()), bad_signature=args.bad_signature,
        stale=args.stale, duplicate=args.duplicate, insecure=args.insecure,
        ca_bundle=args.ca_bundle,
    ))


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "send", help="fire one signed delivery at a receiver, show the exchange, judge it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Sends one signed delivery of EVENT (a bundled example, by default the "
        "canonical one, or your --data FILE) and prints the request with its signature, the "
        "answer and its time, and whether the answer is what the platform expects: for a "
        "response-bearing hook, a body matching the response contract; otherwise 2xx (a "
        "pre-event hook or callback that may refuse: 2xx or 4xx). The secret is never "
        "printed.",
        epilog="modes:\n"
        "  --bad-signature  signed with a wrong secret: the answer should be a 4xx\n"
        "  --stale          timestamped outside the replay window (varda, operator): 4xx\n"
        "  --duplicate N    the same delivery N times as retries (same dedupe key,\n"
        "                   re-signed): each answer judged, and they must agree\n\n"
        "exit codes:\n"
        "  0  the answer is what the platform expects (in a mode: the 4xx it should be)\n"
        "  1  it is not\n"
        "  2  unusable input: unknown provider/event/example, unreadable --data, secret\n"
        "     not set, unreachable target",
    )
    p.add_argument("event", metavar="EVENT", help="the event to send (see `hookproof list`)")
    p.add_argument("--provider", required=True)
    p.add_argument("--target-url", required=True, metavar="URL", help="the receiver")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--example", metavar="NAME",
                        help="a bundled example: documented, maximal, minimal, ... "
                        "(default: the canonical one)")
    source.add_argument("--data", metavar="FILE",
                        help="your payload: JSON; for form providers a raw form body or a "
                        "JSON object of parameters")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET", metavar="VAR",
                   help="environment variable holding the signing secret "
                   "(default HOOKPROOF_SECRET)")
    p.add_argument("--signing-url", metavar="URL",
                   help="the public URL the platform signs, when a proxy sits in front")
    p.add_argument("--method", type=str.upper, choices=["GET", "POST"])
    p.add_argument("--hook-url", action="append", metavar="GROUP=URL",
                   help="URL of one hook group (repeatable), e.g. crm=https://host/crm")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--bad-signature", action="store_true",
                      help="sign with a wrong secret (the receiver should answer 4xx)")
    mode.add_argument("--stale", action="store_true",
                      help="timestamp outside the replay window (timestamped providers only)")
    mode.add_argument("--duplicate", type=copies, metavar="N",
                      help="send the same delivery N times, as platform retries")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify the target's TLS certificate")
    p.add_argument("--ca-bundle", metavar="PATH", help="CA bundle (PEM) for a private "
                   "certificate")
    p.set_defaults(handler=_cmd_send)
