"""``hookproof run``: several endpoints in one command, one report covering them all.

Targets come from ``[tool.hookproof]`` in ``pyproject.toml`` or from ``hookproof.yaml``::

    [[tool.hookproof.targets]]
    name = "varda-staging"
    provider = "varda"
    url = "https://staging.example.com/hooks/varda"
    secret_env = "VARDA_WEBHOOK_SECRET"
    effects_url = "https://staging.example.com/hooks/_effects"   # optional
    expect = { "call.started" = "4xx" }                           # optional
    hook_urls = { crm = "https://…/crm" }                          # optional

A team's own providers (a folder per provider, as for ``--contracts``) are named at the top::

    [tool.hookproof]
    providers = ["webhook-contracts"]   # relative to the config file

Each target runs as its own pytest process (extra arguments pass through), and the reports
are merged. Exit code: 0 every target conformant, 1 failures in at least one target, 2 at
least one target could not be run (unreachable, usage error, interrupted).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hookproof.catalogue import NoAliasLoader
from hookproof.errors import UsageError, nearest

PART_VARIABLE = "HOOKPROOF_RUN_PART"
"""Set for the pytest processes of ``hookproof run``: their reports are parts of one."""

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class TargetSpec:
    name: str
    provider: str
    url: str
    secret_env: str = "HOOKPROOF_SECRET"
    effects_url: str | None = None
    signing_url: str | None = None
    expect: Mapping[str, str] = field(default_factory=dict)
    hook_urls: Mapping[str, str] = field(default_factory=dict)
    command: str | None = None
    """Start the receiver with this command (``--target-command``), in ``cwd``."""
    cwd: str | None = None

    def pytest_args(self) -> list[str]:
        args = ["--target-url", self.url, "--provider", self.provider,
                "--secret-env", self.secret_env, "--hookproof-target-name", self.name]
        if self.effects_url:
            args += ["--effects-url", self.effects_url]
        if self.signing_url:
            args += ["--signing-url", self.signing_url]
        for event, status in self.expect.items():
            args += ["--expect", f"{event}={status}"]
        for group, url in self.hook_urls.items():
            args += ["--hook-url", f"{group}={url}"]
        if self.command:
            args += ["--target-command", self.command]
        if self.cwd:
            args += ["--target-cwd", self.cwd]
        return args


def _target(raw: Any, where: str) -> TargetSpec:
    if not isinstance(raw, Mapping):
        raise UsageError(f"{where}: each target is a table with name, provider and url")
    missing = [k for k in ("name", "provider", "url") if not raw.get(k)]
    if missing:
        raise UsageError(f"{where}: target {raw.get('name', '?')!r} lacks {', '.join(missing)}")
    name = str(raw["name"])
    if not _NAME.match(name):
        raise UsageError(f"{where}: target name {name!r}: use letters, digits, '.', '_', '-'")
    known = {"name", "provider", "url", "secret_env", "effects_url", "signing_url", "expect",
             "hook_urls", "command", "cwd"}
    unknown = set(raw) - known
    if unknown:
        raise UsageError(f"{where}: target {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("expect", "hook_urls"):
        if raw.get(key) is not None and not isinstance(raw[key], Mapping):
            raise UsageError(f"{where}: target {name!r}: {key} must be a table of NAME = VALUE")
    return TargetSpec(
        name=name, provider=str(raw["provider"]), url=str(raw["url"]),
        secret_env=str(raw.get("secret_env") or "HOOKPROOF_SECRET"),
        effects_url=raw.get("effects_url"), signing_url=raw.get("signing_url"),
        expect={str(k): str(v) for k, v in (raw.get("expect") or {}).items()},
        hook_urls={str(k): str(v) for k, v in (raw.get("hook_urls") or {}).items()},
        command=str(raw["command"]) if raw.get("command") else None,
        cwd=str(raw["cwd"]) if raw.get("cwd") else None,
    )


def load_yaml(text: str) -> Any:
    if len(text) > MAX_CONFIG_BYTES:
        raise UsageError(f"the file is over {MAX_CONFIG_BYTES} bytes: not a hookproof config")
    return yaml.load(text, Loader=NoAliasLoader)  # a SafeLoader that refuses aliases


MAX_CONFIG_BYTES = 1024 * 1024


def load_config(path: Path | None, cwd: Path) -> tuple[list[TargetSpec], Path | None]:
    """Targets from ``path``, else from ./hookproof.yaml or ./pyproject.toml [tool.hookproof]."""
    candidates = [path] if path else [cwd / "hookproof.yaml", cwd / "pyproject.toml"]
    for candidate in candidates:
        if candidate is None or not candidate.is_file():
            if path is not None:
                raise UsageError(f"{path}: no such file")
            continue
        try:
            if candidate.suffix == ".toml":
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
                section = data.get("tool", {}).get("hookproof")
                if section is None:
                    if path is not None:
                        raise UsageError(f"{candidate}: no [tool.hookproof] table")
                    continue
            else:
                section = load_yaml(candidate.read_text(encoding="utf-8")) or {}
        except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            reason = " ".join(str(exc).split())  # YAML errors span lines: keep one
            raise UsageError(f"{candidate}: cannot parse ({reason})") from None
        if isinstance(section, Mapping) and section.get("providers") is not None:
            use_providers(section["providers"], candidate)
        raw_targets = section.get("targets") if isinstance(section, Mapping) else None
        if not isinstance(raw_targets, list) or not raw_targets:
            raise UsageError(f"{candidate}: no targets listed")
        targets = [_target(t, str(candidate)) for t in raw_targets]
        names = [t.name for t in targets]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise UsageError(f"{candidate}: target names must be unique ({', '.join(twice)})")
        from hookproof.catalogue import load_catalogue

        for target in targets:
            try:
                load_catalogue().provider(target.provider)
            except UsageError as exc:
                raise UsageError(f"{candidate}: target {target.name!r}: {exc}") from None
        return targets, candidate
    return [], None


def use_providers(raw: Any, config: Path) -> None:
    """Load a team's own providers (``providers:`` in the config, directories relative to the
    config file) here and in every pytest process this run starts, as ``--contracts`` does."""
    from hookproof.catalogue import use_contract_dirs
    from hookproof.errors import HookproofError

    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(
            isinstance(item, str) and item.strip() for item in items):
        raise UsageError(f"{config}: providers is a directory, or a list of directories, of "
                         "your own providers (a folder per provider, as for --contracts)")
    directories = []
    for item in items:
        directory = Path(item) if Path(item).is_absolute() else config.parent / item
        if not directory.is_dir():
            raise UsageError(f"{config}: providers: {item}: no such directory")
        directories.append(directory)
    try:  # beside any --contracts given on the command line
        use_contract_dirs(directories, keep_inherited=True)
    except HookproofError as exc:
        raise UsageError(f"{config}: providers: {exc}") from None


def plugin_args(pytest_args: Sequence[str]) -> list[str]:
    """The plugins a child pytest loads: hookproof's, pytest-xdist's when ``-n`` is asked
    for, and any named with ``-p`` (passed through as given)."""
    plugins = ["-p", "hookproof.plugin"]
    wants_xdist = any(arg in ("-n", "--numprocesses", "--dist") or arg.startswith(
        ("-n", "--numprocesses=", "--dist=")) for arg in pytest_args)
    if wants_xdist:
        plugins += ["-p", "xdist.plugin"]
    return plugins


def run_targets(
    targets: Sequence[TargetSpec],
    *,
    reports_dir: Path,
    pytest_args: Sequence[str] = (),
    cwd: Path,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    jobs: int | None = None,
) -> int:
    """Run the suite against every target, merge the reports; return the exit code.

    Targets run ``jobs`` at a time (default: one per CPU), each in its own pytest process;
    a target's output is printed whole when it finishes, so outputs never interleave.
    """
    from hookproof.reports.document import merge, write

    started = datetime.now(UTC)
    clock = time.perf_counter()
    # only the merged report goes to the GitHub step summary, not each target's part of it
    child_env = {k: v for k, v in (os.environ if env is None else env).items()
                 if k != "GITHUB_STEP_SUMMARY"}
    # each child writes a part of the merged report, in a scratch folder: not worth naming
    child_env[PART_VARIABLE] = "1"
    # each child loads hookproof's plugin and what the arguments ask for, not every pytest
    # plugin installed (importing hypothesis's and schemathesis's is most of a second)
    child_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugins = plugin_args(pytest_args)
    workers = max(1, min(len(targets), jobs or os.cpu_count() or 1))
    print_lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="hookproof-run-") as scratch:

        def run_one(target: TargetSpec) -> tuple[int, dict[str, Any] | None]:
            part = Path(scratch) / target.name
            command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugins,
                       *target.pytest_args(), "--hookproof-reports", str(part), *pytest_args]
            completed = subprocess.run(command, cwd=cwd, env=child_env, check=False,
                                       capture_output=True)
            code = completed.returncode
            with print_lock:
                if not quiet or code not in (0, 1):
                    out = sys.stdout if not quiet else sys.stderr
                    out.write(f"== hookproof: {target.name} ({target.provider}) at "
                              f"{target.url}\n")
                    out.write(completed.stdout.decode("utf-8", "replace"))
                    out.write(completed.stderr.decode("utf-8", "replace"))
                    out.flush()
            report_file = part / "conformance.json"
            document = (json.loads(report_file.read_text(encoding="utf-8"))
                        if report_file.is_file() else None)
            return code, document

        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(run_one, targets))
    documents = [d for _, d in outcomes if d is not None]
    worst = max((0 if code == 0 else 1 if code == 1 else 2 for code, _ in outcomes), default=0)
    not_run = [f"{t.name} (pytest exit code {code})"
               for t, (code, _) in zip(targets, outcomes, strict=True) if code not in (0, 1)]
    if documents:
        report = merge(documents, started=started.isoformat(timespec="seconds"),
                       duration=time.perf_counter() - clock)
        paths = write(report, reports_dir)
        verdict = "conformant" if report["conformant"] else "NOT conformant"
        print(f"hookproof: {len(report['targets'])} target(s), {verdict}; report: "
              f"{paths['html']}", flush=True)
    if not_run:
        print(f"hookproof: error: could not run target(s) {', '.join(not_run)}; "
              "see the output above", file=sys.stderr, flush=True)
    return worst


def _cmd_run(args: argparse.Namespace) -> int:
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
            first = sorted(unknown)[0]
            raise UsageError(f"--target: unknown target(s) {', '.join(sorted(unknown))}; "
                             + nearest(first, [t.name for t in targets], kind="target"))
        targets = [t for t in targets if t.name in wanted]
    reports = Path(args.reports)
    return run_targets(targets, reports_dir=reports if reports.is_absolute() else cwd / reports,
                       pytest_args=args.pytest_args, cwd=cwd, jobs=args.jobs)


def add(sub: Any) -> None:
    """Add the command to the subparsers ``sub``."""
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
