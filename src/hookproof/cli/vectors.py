"""``hookproof vectors``: signing vectors for receiver authors, in any language."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hookproof.cli.common import (
    EXIT_OK,
)


def _cmd_vectors(args: argparse.Namespace) -> int:
    from hookproof.catalogue import load_catalogue
    from hookproof.catalogue.vectors import vectors_for

    if args.provider != "custom":
        load_catalogue().provider(args.provider)  # a clear error for an unknown provider
    print(json.dumps(vectors_for(args.provider), indent=2, ensure_ascii=False))
    return EXIT_OK


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "vectors", help="positive and negative signing vectors (JSON) for receiver authors"
    )
    p.add_argument("--provider", required=True)
    p.set_defaults(handler=_cmd_vectors)
