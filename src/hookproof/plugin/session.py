"""The state of one conformance run, registered as a plugin object in ``pytest_configure``:
the target, every check's record, collection of the suite, the terminal summary and the
reports written at session finish."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hookproof.errors import HookproofError, nearest
from hookproof.plugin.baseline import load_baseline, write_baseline
from hookproof.plugin.records import attach, case_of, records
from hookproof.reach.settings import Settings


class HookproofSession:
    """State of one conformance run: the target and the outcome of every case."""

    def __init__(self, config: pytest.Config, settings: Settings, target: Any,
                 events: list[Any]) -> None:
        self.config = config
        self.settings = settings
        self.target = target
        self.events = events
        self.outcomes: list[dict[str, Any]] = []
        self.started = datetime.now(UTC)
        self.report_paths: dict[str, Path] = {}
        self.baseline = load_baseline(self.resolve(settings.baseline)) if (
            settings.baseline and not settings.baseline_update) else frozenset()
        self.managed: Any = None
        if not self.is_worker:
            self._check_reports_dir()
        self.shown: dict[tuple[str, ...], Any] = {}
        """Cause -> [first report, its text, the other tests it covers] (terminal grouping)."""
        if settings.target_command:
            self._manage_receiver()
        self.app: Any = None
        """The ``--target-app`` app, loaded once (each pytest-xdist worker loads its own)."""
        if settings.target_app:
            from hookproof.transport.inprocess import load_app

            self.app = load_app(settings.target_app, settings.target_app_dir, search={
                "the rootdir": config.rootpath, "the working directory": os.getcwd()})

    def _check_reports_dir(self) -> None:
        """A report directory that cannot be written is a usage error now, not a traceback
        after the run."""
        directory = self.resolve(self.settings.reports_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / ".hookproof-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise HookproofError(f"--hookproof-reports {directory}: cannot write there "
                                 f"({exc.strerror or exc})") from None

    @property
    def receiver_log(self) -> Path:
        from hookproof.reach.managed import LOG_NAME

        return self.resolve(self.settings.reports_dir) / LOG_NAME

    def _manage_receiver(self) -> None:
        """Start the receiver (the controller of a pytest-xdist run starts it once) and let
        the target read its log."""
        from hookproof.reach.managed import ManagedReceiver, ReceiverLog

        settings = self.settings
        assert settings.target_command is not None and settings.target_url is not None
        if not self.is_worker:
            with contextlib.suppress(OSError):
                self.receiver_log.unlink(missing_ok=True)
            self.managed = ManagedReceiver(
                settings.target_command, url=settings.target_url, log_path=self.receiver_log,
                cwd=settings.target_cwd, ready_url=settings.target_ready,
                restarts=settings.target_restarts)
            self.managed.start()
        self.target.managed = ReceiverLog(self.receiver_log, url=settings.target_url,
                                          wait=settings.target_wait)

    def resolve(self, path: str | None) -> Path:
        """A user path, relative to where pytest was invoked (never the package)."""
        assert path is not None
        candidate = Path(path)
        return candidate if candidate.is_absolute() else (
            self.config.invocation_params.dir / candidate)

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    @classmethod
    def start(cls, config: pytest.Config, settings: Settings) -> HookproofSession:
        from hookproof.catalogue import load_catalogue
        from hookproof.catalogue.validation import engine_for
        from hookproof.reach.target import make_target

        catalogue = load_catalogue()
        assert settings.provider is not None
        provider = catalogue.provider(settings.provider)
        events = [provider.event(name) for name in settings.events] or list(provider.events)
        for name in (settings.expect or {}):
            provider.event(name)
        from hookproof.catalogue.examples import invalid_examples, valid_examples

        for event in events:
            # examples a team's contract lacks are derived here, once (cached), so that one no
            # example can be derived for is a usage error naming its file, not a collection
            # traceback
            valid_examples(provider.id, event.name)
            invalid_examples(provider.id, event.name)
        for flag, groups in (("--hook-url", settings.hook_urls),
                             ("--signing-url", settings.signing_urls)):
            for group in (groups or {}):
                if group not in provider.hook_groups:
                    raise HookproofError(
                        f"{flag}: {provider.id} has no hook group {group!r}; "
                        + nearest(group, list(provider.hook_groups), kind="hook group"))
        if settings.method and settings.method not in provider.transport.methods:
            raise HookproofError(
                f"--method {settings.method}: {provider.id} sends "
                f"{' or '.join(provider.transport.methods)}"
            )
        secret = settings.secret()

        def effects_hook(provider_id: str, event: str, key: str) -> int | None:
            answer: int | None = config.hook.pytest_hookproof_effects(
                config=config, provider=provider_id, event=event, key=key
            )
            return answer

        target = make_target(provider, settings, secret=secret, engine=engine_for(catalogue),
                             effects_hook=effects_hook)
        return cls(config, settings, target, events)

    # -- collection ---------------------------------------------------------------------------

    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        """Leave out a suite module whose group has no case (e.g. fuzzing turned off)."""
        import hookproof.suite
        from hookproof.checks import cases

        if collection_path.parent != Path(hookproof.suite.__file__).parent:
            return None
        group = collection_path.stem.removeprefix("test_")
        if collection_path.suffix != ".py" or group == collection_path.stem:
            return None
        if any(True for _ in cases(self.target.provider, self.target, self.events, group)):
            return None
        return True

    @pytest.hookimpl
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "hookproof_check" not in metafunc.fixturenames:
            return
        from hookproof.checks import cases

        group = metafunc.function.__name__.removeprefix("test_")
        found = list(cases(self.target.provider, self.target, self.events, group))
        metafunc.parametrize("hookproof_check", found, ids=[c.id for c in found], indirect=True)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Run in the order a person fixes things: signature, payload, response,
        idempotency, fuzz (pytest would run the suite's modules alphabetically)."""
        from hookproof.checks import GROUP_ORDER

        def rank(item: pytest.Item) -> int:
            case = case_of(item)
            return GROUP_ORDER.index(case.check.group) if case is not None else -1

        items.sort(key=rank)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Every conftest is loaded by now. With no implementation of pytest_hookproof_effects
        # there is no probe (the checks then say how to give one, not "could not tell").
        if not self.config.pluginmanager.hook.pytest_hookproof_effects.get_hookimpls():
            self.target.effects.hook = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome: Any = yield
        report: pytest.TestReport = outcome.get_result()
        case = case_of(item)
        if case is not None and report.when == "call":
            attach(item, report, case)
        if case is not None and self.settings.target_app:
            report.sections = [(title, without_tracebacks(text)
                                if title.startswith("Captured log") else text)
                               for title, text in report.sections]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for record in records(report):
            self.outcomes.append(record)
            if report.failed and record.get("failure"):
                self._group(report, record)
                failure = record["failure"]
                shown = report.longrepr
                report.longrepr = FindingRepr(  # type: ignore[assignment]
                    str(shown), f"[{failure['check']}] {failure['title']}")

    def _group(self, report: pytest.TestReport, record: dict[str, Any]) -> None:
        """One full block per distinct cause in the terminal: a failure with the same cause
        as one already shown (same check and answer, another event) is shown as one line, and
        the first block lists the events it also covers."""
        from hookproof.reports.outline import cause_key

        key = cause_key(record["failure"])
        first = self.shown.get(key)
        if first is None:
            self.shown[key] = [report, str(report.longrepr), []]
            return
        first_report, text, others = first
        crash = bool(record["failure"].get("crash"))  # one crash of an event, many checks
        others.append(record["check"] if crash else (record.get("event") or "(provider)"))
        first_report.longrepr.text = (  # a FindingRepr by now
            f"{text}\n\nthe same problem on {len(others)} other "
            f"{'check' if crash else 'event'}(s): {', '.join(others)}")
        report.longrepr = (f"[{record['check']}] {record['failure']['title']}: the same "
                           f"problem as {first_report.nodeid.rpartition('::')[2]} (shown in "
                           "full there)")

    def build_report(self) -> dict[str, Any]:
        from hookproof.reports.document import document, target_section

        provider = self.target.provider
        section = target_section(
            name=self.settings.target_name or provider.id,
            provider={"id": provider.id, "events": [e.name for e in self.events],
                      "budgets": {e.name: self.target.budget(e) for e in self.events}},
            url=self.settings.target_url,
            records=self.outcomes,
            baseline=self.baseline,
            unavailable=[str(r["reason"]).removeprefix("not run: ") for r in self.outcomes
                         if r["outcome"] == "not_run" and r.get("reason")],
            receiver_log=self.receiver_log.name if self.settings.target_command else None,
        )
        duration = (datetime.now(UTC) - self.started).total_seconds()
        return document([section], started=self.started.isoformat(timespec="seconds"),
                        duration=duration, seed=self.settings.seed,
                        strict=self.settings.strict)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            return
        self.target.client.close()
        if self.managed is not None:
            self.managed.stop()
        if not self.outcomes:
            return
        from hookproof.reports.document import write

        report = self.build_report()
        self.report_paths = write(report, self.resolve(self.settings.reports_dir))
        if self.settings.baseline_update:
            write_baseline(self.resolve(self.settings.baseline), self.outcomes)
        ran = [r for r in self.outcomes if r["outcome"] in ("pass", "fail")]
        if any(r["outcome"] == "not_run" for r in self.outcomes):
            # a target that could not be tested at all is "interrupted" (2); one that stopped
            # answering mid-run has a failure and not-run checks (1); never "conformant"
            worst = 2 if not ran else 1
            session.exitstatus = max(int(session.exitstatus), worst)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.managed is not None:
            self.managed.stop()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.outcomes or self.is_worker:
            return
        counts: dict[str, int] = {}
        for record in self.outcomes:
            key = record["outcome"]
            if key == "fail":
                key = "baselined" if record.get("baselined") else f"fail ({record['severity']})"
            counts[key] = counts.get(key, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        terminalreporter.write_sep("-", "hookproof")
        report = self.build_report()
        section = report["targets"][0]
        for reason in section.get("unavailable", ()):
            terminalreporter.write_line(f"hookproof: {reason}", red=True, bold=True)
        if section.get("diagnosis"):
            terminalreporter.write_line(f"hookproof: {section['diagnosis']}", red=True,
                                        bold=True)
        terminalreporter.write_line(
            f"{self.target.provider.id} at {self.settings.target_url}: "
            f"{len(self.outcomes)} checks: {parts}"
        )
        if any(r["check"].startswith("fuzz.") for r in self.outcomes):
            terminalreporter.write_line(
                f"fuzz: seed {self.settings.seed}, {self.settings.fuzz_examples} generated "
                f"payload(s) per event and check (replay: --hookproof-seed {self.settings.seed})"
            )
        for stale in section.get("stale_baseline", ()):
            terminalreporter.write_line(f"stale baseline entry (passes now): {stale}")
        if self.settings.baseline_update:
            terminalreporter.write_line(f"baseline written: {self.resolve(self.settings.baseline)}")
        if "json" in self.report_paths and not os.environ.get("HOOKPROOF_RUN_PART"):
            terminalreporter.write_line(
                f"conformance report: {self.report_paths['html']} "
                f"(also {self.report_paths['json'].name}, {self.report_paths['md'].name})"
            )


TRACEBACK = "Traceback (most recent call last):"


class FindingRepr:
    """A finding as pytest shows it: whole in the failures section and the JUnit file, and
    one line (``[check] title``) in the short summary. A plain string is printed whole there
    too when pytest runs in CI, so every finding would be printed twice."""

    def __init__(self, text: str, headline: str) -> None:
        self.text = text
        self.reprcrash = SimpleNamespace(message=headline, path="", lineno=0)

    def toterminal(self, out: Any) -> None:
        for line in self.text.splitlines():
            out.line(line)

    def __str__(self) -> str:
        return self.text


def without_tracebacks(log: str) -> str:
    """An in-process app's captured log without the tracebacks it logged: the failure shows
    the receiver's traceback already (folded, hookproof's frames left out), and the app logs
    one per delivery it raised on, dozens while fuzzing shrinks a failure. Each is replaced by
    one line; the log's other lines stay."""
    out: list[str] = []
    removed = 0
    skipping = False
    shown = "[the app's traceback: shown with the failure above]\n"
    for line in log.splitlines(keepends=True):
        if line.strip() == TRACEBACK:
            skipping = True
            removed += 1
            continue
        if skipping:
            if line[:1].isspace() or not line.strip():
                continue
            skipping = False  # the exception's own line ends the traceback
            if not out or out[-1] != shown:
                out.append(shown)
            continue
        out.append(line)
    if skipping and (not out or out[-1] != shown):
        out.append(shown)
    if removed > 1:
        out.append(f"[{removed} tracebacks the app logged, each left out]\n")
    return "".join(out)
