"""The suite's settings, each resolved in one place: command line > environment > ini > default.

A bad value raises :class:`UsageError` naming where it came from, e.g.
``--hookproof-budget (from environment variable HOOKPROOF_BUDGET): 'fast' is not a number``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hookproof.errors import UsageError


@dataclass(frozen=True)
class Option:
    """One setting: its command-line flag, ini key, environment variable and parser."""

    dest: str
    flag: str
    ini: str
    env: str | None
    help: str
    default: Any = None
    kind: str = "string"  # string | bool | list | float | int
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    maximum: float | None = None
    """The largest value accepted (numbers): what a run can afford, whatever is asked."""


OPTIONS: tuple[Option, ...] = (
    Option("target_url", "--target-url", "hookproof_target_url", "HOOKPROOF_TARGET_URL",
           "the receiver to test (http or https URL); without it the plugin stays out of the way",
           metavar="URL"),
    Option("provider", "--provider", "hookproof_provider", "HOOKPROOF_PROVIDER",
           "the platform whose webhooks the receiver takes (see `hookproof list`)",
           metavar="NAME"),
    Option("contracts", "--contracts", "hookproof_contracts", "HOOKPROOF_CONTRACTS",
           "a directory of your own providers (manifest.yaml + JSON Schemas per folder), "
           "loaded beside the bundled ones", metavar="DIR"),
    Option("secret_env", "--secret-env", "hookproof_secret_env", "HOOKPROOF_SECRET_ENV",
           "name of the environment variable holding the signing secret",
           default="HOOKPROOF_SECRET", metavar="VAR"),
    Option("signing_url", "--signing-url", "hookproof_signing_url", "HOOKPROOF_SIGNING_URL",
           "the public URL the platform signs, when a proxy sits in front of the target; "
           "GROUP=URL (repeatable) gives one hook group's own public URL", kind="list",
           metavar="URL"),
    Option("no_forwarded", "--no-forwarded", "hookproof_no_forwarded", "HOOKPROOF_NO_FORWARDED",
           "with --signing-url, do not send the X-Forwarded-* headers a proxy adds",
           default=False, kind="bool"),
    Option("method", "--method", "hookproof_method", "HOOKPROOF_METHOD",
           "HTTP method of deliveries, where the platform lets you choose "
           "(twilio-conversations: GET or POST)", choices=("GET", "POST")),
    Option("target_wait", "--target-wait", "hookproof_target_wait", "HOOKPROOF_TARGET_WAIT",
           "seconds to wait for a receiver that stopped answering to come back before its "
           "remaining checks are recorded as not run (default: 10)", default=10.0,
           kind="float", metavar="SECONDS", maximum=600),
    Option("target_app", "--target-app", "hookproof_target_app", "HOOKPROOF_TARGET_APP",
           "test a WSGI or ASGI app in this process, module:attr or module:factory() (no "
           "server, no port); --target-url is then optional, or a path such as /webhooks",
           metavar="MODULE:ATTR"),
    Option("target_app_dir", "--target-app-dir", "hookproof_target_app_dir",
           "HOOKPROOF_TARGET_APP_DIR", "with --target-app: a directory put first on sys.path "
           "to import it from", metavar="DIR"),
    Option("no_platform_stub", "--no-platform-stub", "hookproof_no_platform_stub",
           "HOOKPROOF_NO_PLATFORM_STUB", "in-process targets: let the receiver's calls to the "
           "platform's REST API reach the network instead of hookproof's stub (they are still "
           "recorded)", default=False, kind="bool"),
    Option("target_command", "--target-command", "hookproof_target_command",
           "HOOKPROOF_TARGET_COMMAND", "start the receiver with this command, capture its "
           "output, restart it when a delivery crashes it, stop it at the end",
           metavar="CMD"),
    Option("target_cwd", "--target-cwd", "hookproof_target_cwd", "HOOKPROOF_TARGET_CWD",
           "working directory of --target-command", metavar="DIR"),
    Option("target_ready", "--target-ready", "hookproof_target_ready",
           "HOOKPROOF_TARGET_READY", "with --target-command: the receiver is ready when this "
           "URL answers (default: when --target-url accepts connections)", metavar="URL"),
    Option("target_restarts", "--target-restarts", "hookproof_target_restarts",
           "HOOKPROOF_TARGET_RESTARTS", "with --target-command: restarts in all after crashes "
           "before the remaining checks are not run (default: 100; an event that crashes the "
           "receiver in 2 checks has its other checks not run)", default=100, kind="int",
           metavar="N", maximum=1000),
    Option("effects_url", "--effects-url", "hookproof_effects_url", "HOOKPROOF_EFFECTS_URL",
           "effects probe: GET URL?key=<dedupe key> answering {\"count\": n}", metavar="URL"),
    Option("effects_wait", "--effects-wait", "hookproof_effects_wait", "HOOKPROOF_EFFECTS_WAIT",
           "seconds the effects probe is polled for a delivery processed asynchronously "
           "(default: 2)", default=2.0, kind="float", metavar="SECONDS", maximum=600),
    Option("events", "--events", "hookproof_events", "HOOKPROOF_EVENTS",
           "only these events (comma-separated)", kind="list", metavar="E1,E2"),
    Option("strict", "--hookproof-strict", "hookproof_strict", "HOOKPROOF_STRICT",
           "recommended checks fail the run too", default=False, kind="bool"),
    Option("expect", "--expect", "hookproof_expect", "HOOKPROOF_EXPECT",
           "per-event expectation override, EVENT=4xx or EVENT=2xx,4xx (repeatable): "
           "the receiver may rightly answer so to that event", kind="list",
           metavar="EVENT=STATUS"),
    Option("hook_urls", "--hook-url", "hookproof_hook_urls", "HOOKPROOF_HOOK_URLS",
           "URL of one hook group, GROUP=URL (repeatable), e.g. crm=https://host/callbacks/crm",
           kind="list", metavar="GROUP=URL"),
    Option("ca_bundle", "--ca-bundle", "hookproof_ca_bundle", "HOOKPROOF_CA_BUNDLE",
           "CA bundle (PEM) to verify a private TLS certificate", metavar="PATH"),
    Option("insecure", "--insecure", "hookproof_insecure", "HOOKPROOF_INSECURE",
           "do not verify the target's TLS certificate", default=False, kind="bool"),
    Option("budget", "--hookproof-budget", "hookproof_budget", "HOOKPROOF_BUDGET",
           "answer-time budget in seconds, tighter than the platform's (default: the "
           "platform's own)", kind="float", metavar="SECONDS", maximum=3600),
    Option("reports_dir", "--hookproof-reports", "hookproof_reports", "HOOKPROOF_REPORTS",
           "where conformance.json/.md/.html are written (relative to where pytest was "
           "invoked)", default="reports", metavar="DIR"),
    Option("target_name", "--hookproof-target-name", "hookproof_target_name",
           "HOOKPROOF_TARGET_NAME", "the target's name in the report (default: the provider)",
           metavar="NAME"),
    Option("baseline", "--hookproof-baseline", "hookproof_baseline", "HOOKPROOF_BASELINE",
           "a file of known failures: they are reported apart and do not fail the run",
           metavar="PATH"),
    Option("baseline_update", "--hookproof-baseline-update", "hookproof_baseline_update",
           None, "write this run's failures to the baseline file", default=False, kind="bool"),
    Option("concurrency", "--hookproof-concurrency", "hookproof_concurrency",
           "HOOKPROOF_CONCURRENCY", "how many copies of a delivery "
           "idempotency.concurrent_duplicates sends at once", default=5, kind="int",
           metavar="N", maximum=100),
    Option("seed", "--hookproof-seed", "hookproof_seed", "HOOKPROOF_SEED",
           "seed of the generated (fuzz) payloads; a run with the same seed sends the same "
           "payloads (default: 0, fixed)", default=0, kind="int", metavar="N",
           maximum=2**32 - 1),
    Option("max_answer", "--hookproof-max-answer", "hookproof_max_answer",
           "HOOKPROOF_MAX_ANSWER", "bytes of an answer read; the rest is discarded and the "
           "finding says so (default: 1048576)", default=1024 * 1024, kind="int",
           metavar="BYTES", maximum=64 * 1024 * 1024),
    Option("fuzz_examples", "--fuzz-examples", "hookproof_fuzz_examples",
           "HOOKPROOF_FUZZ_EXAMPLES", "generated payloads per event for each fuzz check "
           "(default: 8; 0 turns fuzzing off)", default=8, kind="int", metavar="N",
           maximum=10_000),
)

IN_PROCESS_ORIGIN = "http://localhost"
"""Where an in-process app is reached when ``--target-url`` gives only a path (or nothing):
the host the app sees, and the URL the platform signs."""

DERIVED_FIELDS = ("signing_urls",)
"""Settings computed from an option rather than given as one (``--signing-url GROUP=URL``)."""
_ZERO_ALLOWED = ("seed", "fuzz_examples", "effects_wait", "target_wait", "target_restarts")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    target_url: str | None = None
    provider: str | None = None
    contracts: str | None = None
    secret_env: str = "HOOKPROOF_SECRET"
    signing_url: str | None = None
    signing_urls: Mapping[str, str] | None = None
    """Hook group -> the public URL the platform signs for it."""
    no_forwarded: bool = False
    method: str | None = None
    target_wait: float = 10.0
    target_app: str | None = None
    target_app_dir: str | None = None
    no_platform_stub: bool = False
    target_command: str | None = None
    target_cwd: str | None = None
    target_ready: str | None = None
    target_restarts: int = 100
    effects_url: str | None = None
    effects_wait: float = 2.0
    events: tuple[str, ...] = ()
    strict: bool = False
    expect: Mapping[str, frozenset[str]] | None = None
    hook_urls: Mapping[str, str] | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    budget: float | None = None
    reports_dir: str = "reports"
    target_name: str | None = None
    baseline: str | None = None
    baseline_update: bool = False
    concurrency: int = 5
    seed: int = 0
    max_answer: int = 1024 * 1024
    fuzz_examples: int = 8

    @property
    def active(self) -> bool:
        return self.target_url is not None

    def secret(self) -> str:
        """The signing secret, read from the environment variable named by ``secret_env``."""
        value = os.environ.get(self.secret_env, "")
        if not value:
            raise UsageError(
                f"the signing secret is not set: environment variable {self.secret_env} is "
                f"{'empty' if self.secret_env in os.environ else 'unset'} (choose another "
                "variable with --secret-env)"
            )
        return value


Getter = Callable[[Option], Any]


def _parse(option: Option, raw: Any, origin: str) -> Any:
    where = f"{option.flag} (from {origin})"
    if option.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise UsageError(f"{where}: {raw!r} is not true or false")
    if option.kind == "list":
        items: list[str] = []
        for chunk in (raw if isinstance(raw, list | tuple) else [raw]):
            text = str(chunk)
            # the environment and ini values carry several items in one string
            separator = "\n" if "\n" in text else ","
            if option.dest in ("hook_urls", "expect", "signing_url") and separator == ",":
                items.extend(_split_pairs(text))
            else:
                items.extend(p.strip() for p in text.split(separator))
        return tuple(i for i in items if i)
    if option.kind in ("float", "int"):
        shown = str(raw)[:40]
        try:
            number = float(raw) if option.kind == "float" else int(str(raw).strip())
        except (TypeError, ValueError):
            kind = "a number" if option.kind == "float" else "a whole number"
            raise UsageError(f"{where}: {shown!r} is not {kind}") from None
        if not math.isfinite(number):
            raise UsageError(f"{where}: {shown!r} is not a finite number")
        if number < 0 or (number == 0 and option.dest not in _ZERO_ALLOWED):
            raise UsageError(f"{where}: must be greater than 0, got {shown!r}")
        if option.maximum is not None and number > option.maximum:
            raise UsageError(f"{where}: at most {option.maximum:g}, got {shown!r}")
        return number
    text = str(raw).strip()
    if option.choices:
        upper = text.upper()
        if upper not in option.choices:
            raise UsageError(f"{where}: {raw!r} is not one of {', '.join(option.choices)}"
                             + _did_you_mean(str(raw), option.choices))
        return upper
    return text


def _split_pairs(text: str) -> list[str]:
    """Split ``a=x,b=y`` where values may themselves hold commas only after an '='."""
    items: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" in part or not items:
            items.append(part)
        else:
            items[-1] += "," + part
    return items


def check_url(value: str, where: str) -> str:
    """``value`` if it is an http:// or https:// URL; else a usage error naming ``where``."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{where}: {value!r} is not an http:// or https:// URL")
    return value


def resolve_settings(
    cli: Getter,
    ini: Getter,
    environ: Mapping[str, str] | None = None,
    *,
    in_process: bool = False,
) -> Settings:
    """Resolve every option: command line > environment > ini > default.

    ``cli`` and ``ini`` return None (or an empty list) where the option was not given.
    ``in_process``: the target is an app in this process (a ``hookproof_app`` fixture), as
    with ``--target-app``: URLs may be given as paths, and ``--target-url`` defaults to ``/``.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for option in OPTIONS:
        raw: Any = cli(option)
        origin = f"command line {option.flag}"
        if raw in (None, [], ()):
            raw, origin = None, ""
            if option.env and environ.get(option.env, "") != "":
                raw, origin = environ[option.env], f"environment variable {option.env}"
            else:
                from_ini = ini(option)
                if from_ini not in (None, "", [], ()):
                    raw, origin = from_ini, f"ini option {option.ini}"
        if raw is None:
            values[option.dest] = option.default
            continue
        values[option.dest] = _parse(option, raw, origin)
        origins[option.dest] = origin

    if values["target_app"] or in_process:
        _in_process_urls(values, origins)
    values["signing_url"], values["signing_urls"] = _signing_urls(
        values["signing_url"] or (), origins.get("signing_url", ""))
    for dest in ("target_url", "signing_url", "effects_url", "target_ready"):
        if values[dest]:
            check_url(values[dest], f"--{dest.replace('_', '-')} (from {origins[dest]})")
    values["hook_urls"] = _pairs(values["hook_urls"] or (), "--hook-url", origins, "hook_urls",
                                 are_urls=True)
    values["expect"] = {
        event: _statuses(status, origins.get("expect", ""))
        for event, status in _pairs(values["expect"] or (), "--expect", origins,
                                    "expect").items()
    }
    values["events"] = tuple(values["events"] or ())
    # a pasted secret must not be echoed back: say what is wrong, never what was given
    check_env_name(values["secret_env"],
                   f"--secret-env (from {origins.get('secret_env', 'default')})")
    if values["ca_bundle"] and not os.path.isfile(values["ca_bundle"]):
        raise UsageError(f"--ca-bundle (from {origins.get('ca_bundle', '?')}): "
                         f"{values['ca_bundle']!r} is not a readable file")
    if values["baseline_update"] and not values["baseline"]:
        raise UsageError("--hookproof-baseline-update needs --hookproof-baseline PATH")
    if values["target_app"] and values["target_command"]:
        raise UsageError("--target-app runs the app in this process; --target-command starts "
                         "a server: give one of them")
    if values["target_url"] and not values["provider"]:
        raise UsageError("--target-url needs --provider (see `hookproof list` for the names)")
    return Settings(**values)


def _in_process_urls(values: dict[str, Any], origins: dict[str, str]) -> None:
    """An in-process app is reached at any URL: a path is taken on ``http://localhost``
    (what the app sees as its host, and what the platform signs)."""
    def absolute(value: str) -> str:
        return IN_PROCESS_ORIGIN + value if value.startswith("/") else value

    values["target_url"] = absolute(values["target_url"] or "/")
    origins.setdefault("target_url", "default (in process)")
    if values["effects_url"]:
        values["effects_url"] = absolute(values["effects_url"])
    values["hook_urls"] = [
        f"{group}={absolute(url)}" if sep else item
        for item in (values["hook_urls"] or ())
        for group, sep, url in [item.partition("=")]
    ] or None


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_GROUP_URL = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)=(https?://.*)$")


def _did_you_mean(given: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(given, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def check_env_name(name: str, where: str = "--secret-env") -> str:
    """``name`` if it can be an environment variable's name; a pasted value is refused
    without being echoed."""
    if not _ENV_NAME.match(name):
        raise UsageError(f"{where}: takes the name of an environment variable (letters, "
                         "digits and _), not its value; the value given is not shown")
    return name


def _signing_urls(items: Sequence[str], origin: str) -> tuple[str | None, dict[str, str]]:
    """``--signing-url URL`` (the base) and ``--signing-url GROUP=URL`` (one hook group)."""
    base: str | None = None
    groups: dict[str, str] = {}
    where = f"--signing-url (from {origin})"
    for item in items:
        match = _GROUP_URL.match(item)
        if match:
            groups[match.group(1)] = check_url(match.group(2), where)
        elif base is not None:
            raise UsageError(f"{where}: give one URL, and GROUP=URL for each hook group")
        else:
            base = item
    return base, groups


def _pairs(items: Sequence[str], flag: str, origins: Mapping[str, str], dest: str,
           *, are_urls: bool = False) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"{flag} (from {origins.get(dest, '?')}): {item!r} is not NAME=VALUE")
        if are_urls:
            check_url(value.strip(), f"{flag} (from {origins.get(dest, '?')})")
        pairs[name.strip()] = value.strip()
    return pairs


def _statuses(text: str, origin: str) -> frozenset[str]:
    classes = frozenset(s.strip().lower() for s in text.replace("|", ",").split(","))
    unknown = classes - {"2xx", "4xx"}
    if unknown or not classes:
        raise UsageError(
            f"--expect (from {origin}): {text!r}: a status class list like 4xx or 2xx,4xx"
        )
    return classes
