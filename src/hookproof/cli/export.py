"""``hookproof export openapi``: the contracts as one OpenAPI 3.1 document."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hookproof.cli.common import (
    EXIT_OK,
)


def _cmd_export(args: argparse.Namespace) -> int:
    from hookproof.catalogue.export import export_openapi

    document = export_openapi(args.provider)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"hookproof: wrote {args.output} (OpenAPI {document['openapi']}, "
              f"{len(document['webhooks'])} webhooks)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser(
        "export", help="the contracts as another format: openapi (3.1, webhooks + paths)",
        description="Writes one self-contained OpenAPI 3.1 document: `webhooks` describes "
        "every event (body, headers, answer); `paths` the same operations for API testers.")
    p.add_argument("format", choices=["openapi"])
    p.add_argument("--provider", required=True)
    p.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")
    p.set_defaults(handler=_cmd_export)
