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
from hookproof.errors import HookproofError, UsageError

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
        secret=_secret(args.secret_env) if args.secret_env else None,
    )


MAX_COPIES = 1000
"""Copies ``hookproof send --duplicate`` sends at most."""


def _copies(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
    if count > MAX_COPIES:
        raise argparse.ArgumentTypeError(f"at most {MAX_COPIES} copies, got {count}")
    return count


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def _db_file(text: str) -> str:
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file path")
    return text


def _secret(variable: str) -> str:
    import os

    from hookproof.settings import check_env_name

    check_env_name(variable)
    value = os.environ.get(variable, "")
    if not value:
        raise UsageError(f"--secret-env {variable}: the environment variable is "
                         f"{'empty' if variable in os.environ else 'unset'}")
    return value


def _cmd_listen(args: argparse.Namespace) -> int:
    from hookproof.catalogue import load_catalogue
    from hookproof.live import run_listen
    from hookproof.settings import check_url

    load_catalogue().provider(args.provider)
    check_url(args.forward_to, "--forward-to")
    if args.public_url:
        check_url(args.public_url, "--public-url")
    return run_listen(args.provider, port=args.port, forward_to=args.forward_to,
                      secret=_secret(args.secret_env), public_url=args.public_url,
                      record=Path(args.record) if args.record else None,
                      max_deliveries=args.max_deliveries, reports=Path(args.reports),
                      out=sys.stdout)


def _cmd_replay(args: argparse.Namespace) -> int:
    from hookproof.live import export_examples, replay
    from hookproof.settings import check_url

    if args.export_examples:
        return export_examples(Path(args.file), args.provider, Path(args.export_examples),
                               out=sys.stdout)
    if not args.target_url:
        raise UsageError("replay needs --target-url URL (or --export-examples DIR)")
    check_url(args.target_url, "--target-url")
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    code = replay(Path(args.file), provider_id=args.provider, target_url=args.target_url,
                  secret=_secret(args.secret_env), as_recorded=args.as_recorded, events=events,
                  limit=args.limit, concurrency=args.concurrency, signing_url=args.signing_url,
                  out=sys.stdout)
    return code


def _cmd_export(args: argparse.Namespace) -> int:
    from hookproof.export import export_openapi

    document = export_openapi(args.provider)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"hookproof: wrote {args.output} (OpenAPI {document['openapi']}, "
              f"{len(document['webhooks'])} webhooks)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _cmd_vectors(args: argparse.Namespace) -> int:
    from hookproof.catalogue import load_catalogue
    from hookproof.vectors import vectors_for

    if args.provider != "custom":
        load_catalogue().provider(args.provider)  # a clear error for an unknown provider
    print(json.dumps(vectors_for(args.provider), indent=2, ensure_ascii=False))
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    from hookproof.receiver.server import serve

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        raise UsageError(f"--host {args.host}: the reference receiver serves loopback only "
                         "(add --allow-remote to listen elsewhere)")
    from hookproof.catalogue import load_catalogue

    prefixes = ", ".join(
        f"/{p.id}" + (f"[{'|'.join(x for x in p.hook_groups.values() if x)}]"
                      if any(p.hook_groups.values()) else "")
        for p in load_catalogue().providers.values())
    print(f"hookproof reference receiver on http://{args.host}:{args.port} "
          f"(prefixes: {prefixes}; effects: /<provider>/effects)", flush=True)
    serve(host=args.host, port=args.port, db=args.db, public_url=args.public_url,
          log_level=args.log_level)
    return EXIT_OK


def _cmd_stub_serve(args: argparse.Namespace) -> int:
    import socket

    from hookproof.platform_stub import serve

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


def _cmd_import(args: argparse.Namespace) -> int:
    from hookproof.importer import ImportOptions, import_openapi

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


def _cmd_load(args: argparse.Namespace) -> int:
    import hookproof.load as load_module  # first: Locust patches the process with gevent

    options = load_module.LoadOptions(
        provider=args.provider, target_url=args.target_url, rate=args.rate,
        duration=args.duration, users=args.users,
        events=tuple(e.strip() for e in (args.events or "").split(",") if e.strip()),
        duplicates=args.duplicates, ramp=args.ramp, secret_env=args.secret_env,
        signing_url=args.signing_url, hook_urls=tuple(args.hook_url or ()),
        effects_url=args.effects_url, effects_wait=args.effects_wait, max_p95=args.max_p95,
        max_error_rate=args.max_error_rate, reports_dir=Path(args.reports),
        master=args.master, expect_workers=args.expect_workers, worker=args.worker,
        master_host=args.master_host, master_port=args.master_port, seed=args.seed)
    return load_module.load(options)


def _cmd_run(args: argparse.Namespace) -> int:
    from hookproof.run import TargetSpec, load_config, run_targets

    cwd = Path.cwd()
    if args.url:
        if not args.provider:
            raise UsageError("hookproof run URL needs --provider")
        targets = [TargetSpec(name=args.provider, provider=args.provider, url=args.url,
                              secret_env=args.secret_env, effects_url=args.effects_url)]
    else:
        targets, _source = load_config(Path(args.config) if args.config else None, cwd)
        if not targets:
            raise UsageError("no targets: give URL --provider P, or list targets in "
                             "hookproof.yaml or [tool.hookproof] of pyproject.toml")
    if args.target:
        wanted = set(args.target)
        unknown = wanted - {t.name for t in targets}
        if unknown:
            raise UsageError(f"--target: unknown target(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(t.name for t in targets)}")
        targets = [t for t in targets if t.name in wanted]
    reports = Path(args.reports)
    return run_targets(targets, reports_dir=reports if reports.is_absolute() else cwd / reports,
                       pytest_args=args.pytest_args, cwd=cwd, jobs=args.jobs)


DEMO_PUBLIC_URL = "https://hooks.example.com"
"""The public URL the demo's platforms sign; the receiver trusts the proxy headers hookproof
sends with it, as a receiver behind a TLS-terminating proxy does."""


def _cmd_demo(args: argparse.Namespace) -> int:
    import os
    import secrets

    from hookproof.catalogue import load_catalogue
    from hookproof.receiver.app import create_app
    from hookproof.receiver.config import ReceiverConfig
    from hookproof.receiver.server import BackgroundServer
    from hookproof.run import TargetSpec, run_targets

    # A throwaway secret shared by the embedded receiver and the suite, never printed.
    env = dict(os.environ, HOOKPROOF_DEMO_SECRET=secrets.token_urlsafe(24))
    catalogue = load_catalogue()
    app = create_app(ReceiverConfig(environ={"HOOKPROOF_SECRET": env["HOOKPROOF_DEMO_SECRET"]}))
    cwd = Path.cwd()
    with BackgroundServer(app) as server:
        print(f"hookproof demo: reference receiver on {server.url}, played as deployed behind "
              f"a TLS proxy at {DEMO_PUBLIC_URL} (the URL the platforms sign)", flush=True)
        targets = [
            TargetSpec(name=p, provider=p, url=f"{server.url}/{p}",
                       secret_env="HOOKPROOF_DEMO_SECRET",
                       signing_url=f"{DEMO_PUBLIC_URL}/{p}",
                       effects_url=f"{server.url}/{p}/effects")
            # the provider with most events first: the longest run starts first
            for p in sorted(catalogue.providers,
                            key=lambda p: (-len(catalogue.providers[p].events), p))
        ]
        reports = Path(args.reports)
        return run_targets(targets,
                           reports_dir=reports if reports.is_absolute() else cwd / reports,
                           pytest_args=args.pytest_args, cwd=cwd, jobs=args.jobs, env=env)


def _cmd_send(args: argparse.Namespace) -> int:
    from hookproof.send import SendOptions, send

    return send(SendOptions(
        provider=args.provider, event=args.event, target_url=args.target_url,
        example=args.example, data=Path(args.data) if args.data else None,
        secret_env=args.secret_env, signing_url=args.signing_url, method=args.method,
        hook_urls=tuple(args.hook_url or ()), bad_signature=args.bad_signature,
        stale=args.stale, duplicate=args.duplicate, insecure=args.insecure,
        ca_bundle=args.ca_bundle,
    ))


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

    p = sub.add_parser("list", help="providers, their events, kinds and response contracts")
    p.add_argument("--provider", help="only this provider")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser(
        "validate",
        help="check payload files (JSON, raw form body, JSONL, HAR) against the contracts",
        description="Prints FILE:LINE: JSON_PATH: MESSAGE for each error, then each drift "
        "(unknown fields, undocumented enum values). Exit 0 clean (drift allowed), "
        "1 errors found, 2 unusable input.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--provider", required=True)
    p.add_argument("--event", help="the event, where the payload does not name it")
    p.add_argument("--no-drift", action="store_true", help="do not list drift, only count it")
    p.add_argument("--secret-env", metavar="VAR", help="HAR input: verify each recorded "
                   "delivery's signature with the secret held in this environment variable")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser(
        "vectors", help="positive and negative signing vectors (JSON) for receiver authors"
    )
    p.add_argument("--provider", required=True)
    p.set_defaults(handler=_cmd_vectors)

    p = sub.add_parser("serve", help="run the reference receiver (all five providers)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8000)
    p.add_argument("--db", type=_db_file,
                   help="SQLite file of deliveries (default: a new temporary file)")
    p.add_argument("--public-url", help="base URL the platform calls, behind a proxy")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--allow-remote", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=_cmd_serve)

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

    p = sub.add_parser("load", help="deliveries at a rate, on Locust: latency against the "
                       "budget, errors, exactly-once processing (see README: Load)")
    p.add_argument("--provider", required=True)
    p.add_argument("--target-url", required=True)
    p.add_argument("--rate", type=float, default=10.0, help="deliveries per second (10)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds (10)")
    p.add_argument("--users", type=int, help="concurrent senders (default: rate / 2)")
    p.add_argument("--events", help="only these events (comma-separated; default: all)")
    p.add_argument("--duplicates", type=float, default=0.0,
                   help="fraction re-sent as platform retries (same dedupe key), e.g. 0.1")
    p.add_argument("--ramp", type=float, default=0.0, help="seconds to reach every user")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET")
    p.add_argument("--signing-url")
    p.add_argument("--hook-url", action="append", metavar="GROUP=URL")
    p.add_argument("--effects-url", help="the effects probe: exactly-once is proved with it")
    p.add_argument("--effects-wait", type=float, default=2.0)
    p.add_argument("--max-p95", type=float,
                   help="seconds (default: each event's platform budget)")
    p.add_argument("--max-error-rate", type=float, default=0.0,
                   help="fraction of deliveries that may fail (default: 0)")
    p.add_argument("--reports", default="reports", help="where load.json/.md/.html go")
    p.add_argument("--master", action="store_true", help="run as Locust master")
    p.add_argument("--expect-workers", type=int, default=1)
    p.add_argument("--worker", action="store_true", help="run as a Locust worker")
    p.add_argument("--master-host", default="127.0.0.1")
    p.add_argument("--master-port", type=_port, default=5557)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_load)

    p = sub.add_parser("stub", help="the platform's REST API, stubbed, for a receiver in "
                       "another process (`hookproof stub serve`)")
    stub = p.add_subparsers(dest="stub_command", metavar="ACTION", required=True)
    q = stub.add_parser("serve", help="answer Conversations, Participant, Message and User "
                        "calls on loopback as the in-process stub does")
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=_port, default=8089)
    q.set_defaults(handler=_cmd_stub_serve)

    p = sub.add_parser(
        "run", help="run the suite against several targets (config) or one URL; one report",
        description="Targets from hookproof.yaml or [tool.hookproof] in pyproject.toml, or "
        "one URL with --provider. Arguments after -- go to pytest. Exit 0 every target "
        "conformant, 1 failures, 2 a target could not be run.")
    p.add_argument("url", nargs="?", help="a single target URL (then --provider is needed)")
    p.add_argument("--provider")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET")
    p.add_argument("--effects-url")
    p.add_argument("--config", help="hookproof.yaml or pyproject.toml (default: ./ either)")
    p.add_argument("--target", action="append", help="only this target (repeatable)")
    p.add_argument("--reports", default="reports", help="report directory (default reports/)")
    p.add_argument("--jobs", type=int, default=None,
                   help="targets run at once, each in its own process (default: CPUs)")
    p.set_defaults(handler=_cmd_run, pytest_args=[])

    p = sub.add_parser("demo", help="the suite for all five providers against the bundled "
                       "reference receiver; writes reports/")
    p.add_argument("--reports", default="reports")
    p.add_argument("--jobs", type=int, default=None,
                   help="providers run at once, each in its own process (default: CPUs)")
    p.set_defaults(handler=_cmd_demo, pytest_args=[])

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
    mode.add_argument("--duplicate", type=_copies, metavar="N",
                      help="send the same delivery N times, as platform retries")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify the target's TLS certificate")
    p.add_argument("--ca-bundle", metavar="PATH", help="CA bundle (PEM) for a private "
                   "certificate")
    p.set_defaults(handler=_cmd_send)
    p = sub.add_parser(
        "listen", help="forward live deliveries to a receiver, grading them on the way",
        description="A forwarding receiver to register as the platform's webhook URL (behind "
        "your own tunnel): each delivery's signature is checked, its payload validated, it is "
        "forwarded unchanged to --forward-to, and the receiver's answer graded and given back "
        "unchanged. One line per delivery; Ctrl-C or --max-deliveries ends it and writes the "
        "report. Exit 0 every delivery conforms, 1 otherwise, 2 unusable input.")
    p.add_argument("--provider", required=True)
    p.add_argument("--port", type=_port, default=8787)
    p.add_argument("--forward-to", required=True, metavar="URL")
    p.add_argument("--public-url", metavar="URL",
                   help="the base URL the platform signs (default: the URL as received)")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET", metavar="VAR")
    p.add_argument("--record", metavar="FILE", help="keep every exchange (.jsonl or .har)")
    p.add_argument("--max-deliveries", type=_copies, metavar="N")
    p.add_argument("--reports", default="reports", help="report directory (default reports/)")
    p.set_defaults(handler=_cmd_listen)
    p = sub.add_parser(
        "replay", help="send recorded deliveries to a receiver again and judge the answers",
        description="Recorded deliveries (hookproof listen --record, or a HAR capture), "
        "re-signed for --target-url (or byte for byte with --as-recorded), judged with the "
        "suite's own judges. --export-examples DIR writes them as valid examples of the "
        "contracts instead. Exit 0 every answer conforms, 1 otherwise, 2 unusable input.")
    p.add_argument("file")
    p.add_argument("--provider", required=True)
    p.add_argument("--target-url", metavar="URL")
    p.add_argument("--signing-url", metavar="URL")
    p.add_argument("--secret-env", default="HOOKPROOF_SECRET", metavar="VAR")
    p.add_argument("--as-recorded", action="store_true")
    p.add_argument("--events", default="", metavar="E1,E2")
    p.add_argument("--limit", type=_copies, metavar="N")
    p.add_argument("--concurrency", type=int, default=1, metavar="N")
    p.add_argument("--export-examples", metavar="DIR")
    p.set_defaults(handler=_cmd_replay)
    p = sub.add_parser(
        "export", help="the contracts as another format: openapi (3.1, webhooks + paths)",
        description="Writes one self-contained OpenAPI 3.1 document: `webhooks` describes "
        "every event (body, headers, answer); `paths` the same operations for API testers.")
    p.add_argument("format", choices=["openapi"])
    p.add_argument("--provider", required=True)
    p.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")
    p.set_defaults(handler=_cmd_export)
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
    if getattr(args, "contracts", None):
        import os

        from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue

        os.environ[CONTRACTS_VARIABLE] = str(Path(args.contracts).resolve())
        load_catalogue.cache_clear()
    if hasattr(args, "pytest_args"):
        args.pytest_args = passthrough
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
    except OSError as exc:  # a file or directory that cannot be written or read
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"hookproof: error:{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    raise SystemExit(main())
