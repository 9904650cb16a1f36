"""The ``hookproof`` command.

Exit codes: 0 clean, 1 findings (errors in payloads, failed checks), 2 unusable input or usage.
Every error a user can cause is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hookproof import __version__
from hookproof.errors import HookproofError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2

Handler = Callable[[argparse.Namespace], int]


def _cmd_list(args: argparse.Namespace) -> int:
    from hookproof.catalogue import load_catalogue

    catalogue = load_catalogue()
    providers = [catalogue.provider(args.provider)] if args.provider else [
        catalogue.providers[p] for p in sorted(catalogue.providers)
    ]
    if args.format == "json":
        document = [
            {
                "provider": p.id,
                "title": p.title,
                "events": [
                    {"name": e.name, "kind": e.kind, "response_contract": e.response is not None,
                     "budget_seconds": e.budget, **({"group": e.group} if e.group else {})}
                    for e in p.events
                ],
                "resources": [r.name for r in p.resources],
            }
            for p in providers
        ]
        print(json.dumps(document, indent=2))
        return EXIT_OK
    for p in providers:
        kinds = {k: sum(1 for e in p.events if e.kind == k) for k in ("pre", "post", "callback")}
        counts = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        print(f"{p.id}: {p.title} ({len(p.events)} events: {counts})")
        width = max(len(e.name) for e in p.events)
        for e in p.events:
            response = "response contract" if e.response else "-"
            group = f"  [{e.group}]" if e.group else ""
            print(f"  {e.name:<{width}}  {e.kind:<8}  {response}{group}")
        for r in p.resources:
            print(f"  {r.name:<{width}}  resource")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from hookproof.validate_files import validate_files

    return validate_files(
        [Path(f) for f in args.files],
        provider=args.provider,
        event=args.event,
        out=sys.stdout,
        show_drift=not args.no_drift,
    )


def _cmd_vectors(args: argparse.Namespace) -> int:
    from hookproof.catalogue import load_catalogue
    from hookproof.vectors import vectors_for

    if args.provider != "custom":
        load_catalogue().provider(args.provider)  # a clear error for an unknown provider
    print(json.dumps(vectors_for(args.provider), indent=2, ensure_ascii=False))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hookproof",
        description="Prove a webhook receiver is ready for production.",
        epilog="Exit codes: 0 clean, 1 findings, 2 unusable input or usage error.",
    )
    parser.add_argument("--version", action="version", version=f"hookproof {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="providers, their events, kinds and response contracts")
    p.add_argument("--provider", help="only this provider")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser(
        "validate",
        help="check payload files (JSON, raw form body, JSONL) against the contracts",
        description="Prints FILE:LINE: JSON_PATH: MESSAGE for each error, then each drift "
        "(unknown fields, undocumented enum values). Exit 0 clean (drift allowed), "
        "1 errors found, 2 unusable input.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--provider", required=True)
    p.add_argument("--event", help="the event, where the payload does not name it")
    p.add_argument("--no-drift", action="store_true", help="do not list drift, only count it")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser(
        "vectors", help="positive and negative signing vectors (JSON) for receiver authors"
    )
    p.add_argument("--provider", required=True)
    p.set_defaults(handler=_cmd_vectors)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except HookproofError as exc:
        print(f"hookproof: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("hookproof: interrupted", file=sys.stderr)
        return EXIT_UNUSABLE
    except BrokenPipeError:  # `hookproof validate ... | head`
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
