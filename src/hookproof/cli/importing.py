"""``hookproof import openapi``: an OpenAPI document's webhooks as a provider of
your own."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hookproof.cli.common import (
    EXIT_OK,
)


def _cmd_import(args: argparse.Namespace) -> int:
    from hookproof.catalogue.importer import ImportOptions, import_openapi

    options = ImportOptions(
        source=Path(args.file), output=Path(args.output), scheme=args.scheme,
        provider_id=args.id, header=args.header, format=args.signature_format,
        template=args.template, algorithm=args.algorithm, encoding=args.signature_encoding,
        timestamp_header=args.timestamp_header, id_header=args.id_header,
        dedupe_header=args.dedupe_header,
        event_field=args.event_field)
    events = import_openapi(options)
    print(f"hookproof import: {len(events)} event(s) -> {options.output} "
          f"({', '.join(events)}); use it with --contracts {options.output.parent}")
    return EXIT_OK


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
    p = sub.add_parser("import", help="an OpenAPI 3.1 document's webhooks as a provider of "
                       "your own (for --contracts)")
    p.add_argument("format", choices=["openapi"])
    p.add_argument("file")
    p.add_argument("--output", "-o", required=True, metavar="DIR",
                   help="the provider's folder (its name is the provider id)")
    p.add_argument("--id", help="the provider id (default: the folder's name)")
    p.add_argument("--scheme", choices=["standard-webhooks", "hmac"],
                   default="standard-webhooks")
    p.add_argument("--header", help="hmac: the signature header, e.g. X-Hub-Signature-256")
    p.add_argument("--signature-format", help='hmac: the header value, e.g. '
                   '"sha256={signature}" or "t={timestamp},v1={signature}"')
    p.add_argument("--template", help='hmac: what is signed, e.g. "{body}" or '
                   '"{timestamp}.{body}" ({timestamp}, {id}, {url}, {body})')
    p.add_argument("--algorithm", choices=["sha1", "sha256", "sha512"])
    p.add_argument("--signature-encoding", choices=["hex", "base64"])
    p.add_argument("--timestamp-header")
    p.add_argument("--id-header", help="hmac: the header whose value {id} signs")
    p.add_argument("--dedupe-header", help="the header that stays the same on retries "
                   "(standard-webhooks: webhook-id)")
    p.add_argument("--event-field", default="type",
                   help="the body field naming the event (default: type)")
    p.set_defaults(handler=_cmd_import)
