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
        header_prefix=args.header_prefix, dedupe_header=args.dedupe_header,
        event_field=args.event_field, preset=args.preset, force=args.force)
    report = import_openapi(options)
    with_examples = sum(1 for e in report.events if e.examples)
    print(f"hookproof import: {len(report.events)} event(s) -> {options.output}: "
          f"{with_examples} with documented examples, "
          f"{len(report.events) - with_examples} to be derived from their schemas")
    for event in report.events:
        print(event.line())
    if report.unknown_formats:
        counted = ", ".join(f"{name} ({count})" for name, count in
                            sorted(report.unknown_formats.items()))
        print(f"formats nothing defines, ignored as JSON Schema says: {counted}")
    print(f"use it with --contracts {options.output.parent}")
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
    p.add_argument("--preset", help="what the document does not say (signature, delivery "
                   "id, event naming), by name (github) or a preset file (YAML)")
    p.add_argument("--force", action="store_true",
                   help="replace the output folder if it is not empty")
    p.add_argument("--scheme", choices=["standard-webhooks", "hmac"],
                   help="the signing scheme (default: the preset's, else standard-webhooks)")
    p.add_argument("--header-prefix", help="standard-webhooks: the headers' prefix "
                   "(webhook, or svix for Svix, Clerk, Resend)")
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
    p.add_argument("--event-field",
                   help="the body field naming the event (default: the preset's, else type)")
    p.set_defaults(handler=_cmd_import)
