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
                "unknown_formats": unknown_formats_of(catalogue, p),
            }
            for p in providers
        ]
        print(json.dumps(document, indent=2))
        return EXIT_OK
    for p in providers:
        kinds = {k: sum(1 for e in p.events if e.kind == k) for k in ("pre", "post", "callback")}
        counts = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        print(f"{p.id}: {p.title} ({len(p.events)} events: {counts})")
        risky = backtracking_patterns_of(catalogue, p)
        if risky:
            print("  patterns Python's re would backtrack on (matched in linear time): "
                  + ", ".join(risky))
        ignored = unknown_formats_of(catalogue, p)
        if ignored:
            print("  formats nothing defines, ignored as JSON Schema says: " + ", ".join(
                f"{name} ({count})" for name, count in sorted(ignored.items())))
        width = max(len(e.name) for e in p.events)
        for e in p.events:
            response = "response contract" if e.response else "-"
            group = f"  [{e.group}]" if e.group else ""
            print(f"  {e.name:<{width}}  {e.kind:<8}  {response}{group}")
        for r in p.resources:
            print(f"  {r.name:<{width}}  resource")
    return EXIT_OK


def unknown_formats_of(catalogue: Any, provider: Any) -> dict[str, int]:
    """How often each format no one defines appears in ``provider``'s own schemas."""
    from hookproof.catalogue import BASE_URI
    from hookproof.catalogue.formats import KEYWORD_FORMATS, unknown_formats

    known = {**KEYWORD_FORMATS, **provider.formats}
    counted: dict[str, int] = {}
    prefix = f"{BASE_URI}{provider.id}/"
    for uri, schema in catalogue.schemas.items():
        if uri.startswith(prefix):
            for name in unknown_formats(schema, known):
                counted[name] = counted.get(name, 0) + 1
    return counted


def backtracking_patterns_of(catalogue: Any, provider: Any) -> list[str]:
    """The ``pattern``s of ``provider``'s own schemas that Python's ``re`` would take
    exponential time on (hookproof matches them with a linear-time engine)."""
    from hookproof.catalogue import BASE_URI
    from hookproof.catalogue.validation import backtracking

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            pattern = node.get("pattern")
            if isinstance(pattern, str) and backtracking(pattern) and pattern not in found:
                found.append(pattern)
            for key, value in node.items():
                if key not in ("enum", "const", "examples", "default"):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    prefix = f"{BASE_URI}{provider.id}/"
    for uri, schema in catalogue.schemas.items():
        if uri.startswith(prefix):
            walk(schema)
    return found


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser("list", help="providers, their events, kinds and response contracts")
    p.add_argument("--provider", help="only this provider")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=_cmd_list)
