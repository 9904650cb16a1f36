"""The ``hookproof`` command: one module per command, each adding its own parser.

Exit codes: 0 clean, 1 findings (errors in payloads, failed checks), 2 unusable input or usage.
Every error a user can cause is one line on stderr, never a traceback.

It may import every layer: it parses, calls the layer that does the work, and turns an error
into its exit code. ``common`` holds the exit codes and the argument types; ``run`` also holds
what only ``hookproof run`` does (the targets' config, one pytest process per target, the
merged report).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hookproof import __version__
from hookproof.cli import (
    demo,
    export,
    importing,
    init,
    listen,
    listing,
    load,
    replay,
    run,
    send,
    serve,
    stub,
    validating,
    vectors,
)
from hookproof.cli.common import EXIT_OK, EXIT_UNUSABLE, Handler
from hookproof.errors import HookproofError

COMMANDS = (init, listing, validating, vectors, serve, importing, load, stub, run, demo, send,
            listen, replay, export)
"""Each command's module, in the order ``hookproof --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hookproof",
        description="Prove a webhook receiver is ready for production.",
        epilog="Exit codes: 0 clean, 1 findings, 2 unusable input or usage error.",
    )
    parser.add_argument("--version", action="version", version=f"hookproof {__version__}")
    parser.add_argument("--contracts", metavar="DIR",
                        help="a directory of your own providers, loaded beside the bundled "
                        "ones (for every command; also $HOOKPROOF_CONTRACTS)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if argv and argv[0] in ("run", "demo") and "--" in argv:
        # everything after `--` goes to pytest untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    if hasattr(args, "pytest_args"):
        args.pytest_args = passthrough
    try:
        if getattr(args, "contracts", None):
            from hookproof.catalogue import use_contract_dirs

            use_contract_dirs([Path(args.contracts)])
        return handler(args)
    except HookproofError as exc:
        print(f"hookproof: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("hookproof: interrupted", file=sys.stderr)
        return EXIT_UNUSABLE
    except BrokenPipeError:  # `hookproof validate ... | head`
        return EXIT_OK
    except OSError as exc:  # a file or directory that cannot be written or read
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"hookproof: error:{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    raise SystemExit(main())
