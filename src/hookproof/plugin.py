"""The pytest plugin: ``pytest --target-url URL --provider NAME`` runs the conformance suite.

Module-level hooks decide and wire; a :class:`HookproofSession` object registered in
``pytest_configure`` (kept in ``config.stash``) holds the run's state. Without
``--target-url`` the plugin stays out of the way of a project's own tests.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hookproof.errors import HookproofError
from hookproof.settings import OPTIONS, Settings, resolve_settings

settings_key = pytest.StashKey[Settings]()
session_key: pytest.StashKey[HookproofSession] = pytest.StashKey()
failure_key = pytest.StashKey[Any]()
latency_key = pytest.StashKey[list[tuple[str, float]]]()
calls_key = pytest.StashKey[list[list[str]]]()
outcome_key = pytest.StashKey[Any]()
"""The :class:`~hookproof.verdict.Outcome` a check recorded for itself."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hookproof", "hookproof: webhook receiver conformance")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {"dest": f"hookproof_{option.dest}", "help": option.help}
        if option.kind == "bool":
            kwargs.update(action="store_true", default=None)
        elif option.kind == "list":
            kwargs.update(action="append", default=None, metavar=option.metavar)
        else:
            kwargs.update(default=None, metavar=option.metavar or option.dest.upper())
        group.addoption(option.flag, **kwargs)
        if option.kind == "list":
            parser.addini(option.ini, option.help, type="linelist", default=None)
        else:
            parser.addini(option.ini, option.help, type="string", default=None)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from hookproof import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def use_contracts(directory: str, cwd: Path) -> None:
    """Load a team's own providers from ``directory`` in this process and every process it
    starts (pytest-xdist workers read the same environment)."""
    from hookproof.catalogue import CONTRACTS_VARIABLE, load_catalogue
    from hookproof.errors import HookproofError

    path = Path(directory)
    os.environ[CONTRACTS_VARIABLE] = str(path if path.is_absolute() else cwd / path)
    load_catalogue.cache_clear()
    try:
        load_catalogue()
    except HookproofError as exc:
        raise pytest.UsageError(f"hookproof: {exc}") from None


def overrides_app(config: pytest.Config) -> bool:
    """Whether a conftest already loaded defines ``hookproof_app``: the team's own app, run
    in-process by plain ``pytest``."""
    for plugin in config.pluginmanager.get_plugins():
        if (str(getattr(plugin, "__file__", "") or "").endswith("conftest.py")
                and hasattr(plugin, "hookproof_app")):
            return True
    return False


def _settings(config: pytest.Config, in_process: bool = False) -> Settings:
    def cli(option: Any) -> Any:
        return config.getoption(f"hookproof_{option.dest}")

    def ini(option: Any) -> Any:
        try:
            return config.getini(option.ini)
        except ValueError:
            return None

    try:
        return resolve_settings(cli, ini, in_process=in_process)
    except HookproofError as exc:
        raise pytest.UsageError(f"hookproof: {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hookproof: a hookproof conformance check")
    by_fixture = overrides_app(config)
    settings = _settings(config, in_process=by_fixture)
    config.stash[settings_key] = settings
    if settings.contracts:
        use_contracts(settings.contracts, config.invocation_params.dir)
    if not settings.active:
        return
    try:
        session = HookproofSession.start(config, settings)
    except HookproofError as exc:
        raise pytest.UsageError(f"hookproof: {exc}") from None
    config.stash[session_key] = session
    config.pluginmanager.register(session, "hookproof-session")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        import hookproof.suite

        suite = str(Path(hookproof.suite.__file__).parent)
        if by_fixture and not settings.target_app:
            # plain `pytest` with a hookproof_app fixture: the team's tests and the suite
            config.args = [*config.args, suite]
        else:
            # `pytest --target-url URL` with no path runs the bundled suite
            config.args = [suite]


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
            from hookproof.inprocess import load_app

            self.app = load_app(settings.target_app, settings.target_app_dir)

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
        from hookproof.managed import LOG_NAME

        return self.resolve(self.settings.reports_dir) / LOG_NAME

    def _manage_receiver(self) -> None:
        """Start the receiver (the controller of a pytest-xdist run starts it once) and let
        the target read its log."""
        from hookproof.managed import ManagedReceiver, ReceiverLog

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
        from hookproof.target import make_target
        from hookproof.validation import engine_for

        catalogue = load_catalogue()
        assert settings.provider is not None
        provider = catalogue.provider(settings.provider)
        events = [provider.event(name) for name in settings.events] or list(provider.events)
        for name in (settings.expect or {}):
            provider.event(name)
        for flag, groups in (("--hook-url", settings.hook_urls),
                             ("--signing-url", settings.signing_urls)):
            for group in (groups or {}):
                if group not in provider.hook_groups:
                    known = ", ".join(provider.hook_groups) or "none"
                    raise HookproofError(
                        f"{flag}: {provider.id} has no hook group {group!r} (groups: {known})"
                    )
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
            callspec = getattr(item, "callspec", None)
            case = callspec.params.get("hookproof_check") if callspec is not None else None
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
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("hookproof_check") if callspec is not None else None
        if case is None or report.when != "call":
            return
        failure = item.stash.get(failure_key, None)
        if failure is not None and report.failed:
            report.longrepr = str(failure)
        record = {
            "provider": case.provider.id,
            "event": case.event_name,
            "check": case.check.id,
            "severity": failure.severity if failure is not None else case.check.severity,
            "outcome": _outcome(item, report),
            "failure": failure.as_dict() if failure is not None else None,
            "baselined": failure is not None and (
                case_key(case) in self.baseline or self.settings.baseline_update),
            "latencies_ms": item.stash.get(latency_key, []),
            "platform_calls": item.stash.get(calls_key, []),
        }
        if report.skipped and not hasattr(report, "wasxfail"):
            record["reason"] = _skip_reason(report)
        elif report.failed and failure is None:
            # the check itself crashed: a failure without details, never a silent pass
            crash = getattr(report.longrepr, "reprcrash", None)
            record["reason"] = f"error: {getattr(crash, 'message', 'the check crashed')}"
        # results travel in report properties: under pytest-xdist the controller reads them
        from hookproof.scrub import scrub_data

        report.user_properties.append(("hookproof", json.dumps(scrub_data(record))))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == "hookproof":
                record = json.loads(str(value))
                self.outcomes.append(record)
                if report.failed and record.get("failure"):
                    self._group(report, record)

    def _group(self, report: pytest.TestReport, record: dict[str, Any]) -> None:
        """One full block per distinct cause in the terminal: a failure with the same cause
        as one already shown (same check and answer, another event) is shown as one line, and
        the first block lists the events it also covers."""
        from hookproof.report import cause_key

        key = cause_key(record["failure"])
        first = self.shown.get(key)
        if first is None:
            self.shown[key] = [report, str(report.longrepr), []]
            return
        first_report, text, others = first
        crash = bool(record["failure"].get("crash"))  # one crash of an event, many checks
        others.append(record["check"] if crash else (record.get("event") or "(provider)"))
        first_report.longrepr = (f"{text}\n\nthe same problem on {len(others)} other "
                                 f"{'check' if crash else 'event'}(s): {', '.join(others)}")
        report.longrepr = (f"[{record['check']}] {record['failure']['title']}: the same "
                           f"problem as {first_report.nodeid.rpartition('::')[2]} (shown in "
                           "full there)")

    def build_report(self) -> dict[str, Any]:
        from hookproof.report import document, target_section

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
        from hookproof.report import write

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


def case_key(case: Any) -> str:
    """How a case is named in a baseline file: ``provider/event/check``."""
    return f"{case.provider.id}/{case.event_name or '(provider)'}/{case.check.id}"


def load_baseline(path: Path) -> frozenset[str]:
    """The known failures recorded in a baseline file (none if it does not exist yet)."""
    if not path.is_file():
        return frozenset()
    from hookproof import safejson

    try:
        document = safejson.loads(path.read_bytes(), what="the baseline file")
        return frozenset(str(k) for k in document["known_failures"])
    except (HookproofError, OSError, KeyError, TypeError):
        raise HookproofError(
            f"--hookproof-baseline {path}: not a hookproof baseline file "
            '({"known_failures": ["provider/event/check", ...]})'
        ) from None


def write_baseline(path: Path, records: list[dict[str, Any]]) -> None:
    failing = sorted({
        f"{r['provider']}/{r['event'] or '(provider)'}/{r['check']}"
        for r in records if r["outcome"] == "fail"
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"known_failures": failing}, indent=2) + "\n", encoding="utf-8")


def _outcome(item: pytest.Item, report: pytest.TestReport) -> str:
    """The outcome the check itself recorded (carried as data, never read from a message);
    a check that crashed is a failure, and one pytest skipped before it ran is skipped."""
    from hookproof.verdict import Outcome

    recorded = item.stash.get(outcome_key, None)
    if recorded is not None:
        return str(recorded.value)
    return Outcome.FAIL.value if report.failed else Outcome.SKIPPED.value


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def hookproof_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved hookproof settings (command line > environment > ini > default)."""
    return pytestconfig.stash[settings_key]


@pytest.fixture(scope="session")
def hookproof_app(pytestconfig: pytest.Config) -> Any:
    """The receiver's WSGI or ASGI app, tested in this process with no server and no port.

    Default: the ``--target-app module:attr`` app, or None (the target is a URL). Override it
    in the conftest.py at your project's root to return your app (Flask, FastAPI, Starlette,
    Django's ``get_wsgi_application()``...): plain ``pytest`` then runs the conformance suite
    against it as well as your own tests (give the provider in the ini file:
    ``hookproof_provider = twilio-conversations``)."""
    session = pytestconfig.stash.get(session_key, None)
    return None if session is None else session.app


@pytest.fixture(scope="session")
def hookproof_target(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Any:
    """The receiver under test: provider, delivery builder and client (a keep-alive HTTP
    session, or the in-process app of ``hookproof_app``)."""
    session = pytestconfig.stash.get(session_key, None)
    if session is None:
        pytest.skip("hookproof: no --target-url, --target-app or hookproof_app fixture given")
    target = session.target
    if session.settings.target_app or overrides_app(pytestconfig):
        app = request.getfixturevalue("hookproof_app")
        if app is None:
            pytest.skip("hookproof: the hookproof_app fixture returned None: no app to test")
        if not target.in_process:
            from hookproof.errors import UsageError

            try:
                target.serve_app(app, name=session.settings.target_app or "hookproof_app")
            except UsageError as exc:
                pytest.exit(f"hookproof: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
            request.addfinalizer(target.client.close)
    return target


@pytest.fixture(scope="session")
def hookproof_deliver(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Any:
    """Send one signed delivery to the configured target and get the suite's verdict.

    ``hookproof_deliver(event, provider=None, payload=None, **changes)``: the bundled example
    of ``event`` (or ``payload``: a dict, or a path to a JSON or form file), with ``changes``
    applied (``Body="hi"``; a dotted key such as ``**{"data.id": 7}`` for JSON; ``None``
    removes a field), signed with the secret of ``--secret-env`` and sent to ``--target-url``,
    ``--target-app`` or your ``hookproof_app``. Returns a ``Delivered``: ``.conforms``,
    ``.verdict``, ``.failure``, ``.status``, ``.json()``, ``.platform_calls``::

        def test_message_added(hookproof_deliver):
            assert hookproof_deliver("onMessageAdded", Body="hello").conforms
    """
    from hookproof.deliver import Deliverer

    settings: Settings = pytestconfig.stash[settings_key]
    session = pytestconfig.stash.get(session_key, None)
    app = request.getfixturevalue("hookproof_app")
    transport = None
    session_target = None
    if session is not None:
        session_target = request.getfixturevalue("hookproof_target")
        transport = session_target.client.app
    elif app is not None:
        import dataclasses

        from hookproof.inprocess import AppTransport
        from hookproof.settings import IN_PROCESS_ORIGIN

        transport = AppTransport(app, name="hookproof_app")
        request.addfinalizer(transport.close)
        if settings.target_url is None:
            settings = dataclasses.replace(settings, target_url=IN_PROCESS_ORIGIN + "/")
    deliverer = Deliverer(settings, app_transport=transport, session_target=session_target)
    request.addfinalizer(deliverer.close)

    def deliver(event: str, provider: str | None = None, payload: Any = None,
                **changes: Any) -> Any:
        from hookproof.errors import HookproofError

        __tracebackhide__ = True
        try:
            return deliverer(event, provider, payload, **changes)
        except HookproofError as exc:
            pytest.fail(f"hookproof_deliver: {exc}", pytrace=False)

    return deliver


class CheckRun:
    """One generated check, bound to the test item that runs it."""

    def __init__(self, case: Any, target: Any, item: pytest.Item, strict: bool,
                 baseline: frozenset[str], baseline_update: bool = False) -> None:
        self.case = case
        self.baseline_update = baseline_update
        self.target = target
        self.item = item
        self.strict = strict
        self.baseline = baseline

    def run(self) -> None:
        from hookproof.checks import run
        from hookproof.failures import CheckFailure, NotApplicable, NotObserved
        from hookproof.scrub import scrub
        from hookproof.target import TargetUnavailable
        from hookproof.verdict import Outcome, blocking

        __tracebackhide__ = True
        start = len(self.target.exchanges)
        stash = self.item.stash
        try:
            self.target.check_available(self.case.event)
            with self.target.platform_active():
                run(self.case, self.target)
            stash[outcome_key] = Outcome.PASS
        except TargetUnavailable as exc:
            stash[outcome_key] = Outcome.NOT_RUN
            pytest.skip(f"not run: {exc}")
        except NotObserved as exc:
            stash[outcome_key] = Outcome.NOT_OBSERVED
            pytest.skip(f"not observed: {exc}")
        except NotApplicable as exc:
            stash[outcome_key] = Outcome.SKIPPED
            pytest.skip(f"not applicable: {exc}")
        except CheckFailure as failure:
            stash[failure_key] = failure
            stash[outcome_key] = Outcome.FAIL
            baselined = case_key(self.case) in self.baseline or self.baseline_update
            if baselined:
                pytest.xfail(scrub(f"baselined: {failure.title}"))
            if not blocking(failure.severity, strict=self.strict):
                pytest.xfail(scrub(f"recommended: {failure.title} (expected "
                                   f"{failure.expected}, got {failure.got}); fails with "
                                   "--hookproof-strict"))
            raise
        finally:
            self.item.stash[calls_key] = [
                list(call.route()) for _, _, exchange in self.target.exchanges[start:]
                for call in exchange.platform_calls]
            self.item.stash[latency_key] = [
                (event, round(exchange.elapsed * 1000, 2))
                for _, event, exchange in self.target.exchanges[start:]
                if exchange.answered
            ]


@pytest.fixture
def hookproof_check(request: pytest.FixtureRequest, hookproof_target: Any) -> CheckRun:
    """The check this test runs (a case of the catalogue); call ``.run()``."""
    session = request.config.stash[session_key]
    return CheckRun(request.param, hookproof_target, request.node, session.settings.strict,
                    session.baseline, session.settings.baseline_update)
