"""``hookproof list``: providers, their events, kinds and response contracts."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hookproof.cli.common import (
    EXIT_OK,
)


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


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser("list", help="providers, their events, kinds and response contracts")
    p.add_argument("--provider", help="only this provider")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=_cmd_list)
