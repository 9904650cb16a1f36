"""The pytest adapter: ``pytest --target-url URL --provider NAME`` runs the conformance suite.

Module-level hooks here decide and wire: the options, the settings (command line > environment
> ini > default), the suite's path when none is given. A
:class:`~hookproof.plugin.session.HookproofSession` registered in ``pytest_configure`` (kept in
``config.stash``, keys in ``stash_keys``) holds the run's state and writes the reports at session
finish. ``records`` carries each check's record from a pytest-xdist worker to the controller;
``fixtures`` holds the layered fixtures; ``deliver`` the ``hookproof_deliver`` fixture's sender;
``baseline`` the known failures. Without a target the plugin stays out of the way of a
project's own tests.

It may import every layer below it but the reference receiver (base, transports, signing,
catalogue, reach, checks, reports) and the collected suite: it decides nothing about a
receiver itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookproof.errors import HookproofError
from hookproof.plugin.fixtures import (  # the plugin's namespace is where pytest finds them
    hookproof_app,
    hookproof_check,
    hookproof_deliver,
    hookproof_settings,
    hookproof_target,
    overrides_app,
)
from hookproof.plugin.session import HookproofSession, without_tracebacks
from hookproof.plugin.stash_keys import delivered_key, session_key, settings_key
from hookproof.reach.settings import OPTIONS, Settings, resolve_settings

__all__ = ["hookproof_app", "hookproof_check", "hookproof_deliver", "hookproof_settings",
           "hookproof_target"]


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
    from hookproof.catalogue import use_contract_dirs

    path = Path(directory)
    try:
        use_contract_dirs([path if path.is_absolute() else cwd / path])
    except HookproofError as exc:
        raise pytest.UsageError(f"hookproof: {exc}") from None


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
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[delivered_key] = []  # the deliveries of this test, from here on


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing test that used ``hookproof_deliver`` gets a section per delivery: pytest
    shows an assertion's message cut to one line, the delivery is shown whole here."""
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    delivered = item.config.stash.get(delivered_key, None)
    if not delivered or report.when != "call" or not report.failed:
        return
    if any(one.failure is not None and one.failure.receiver_output for one in delivered):
        # the delivery's section shows the app's traceback: the log would show it again
        report.sections = [(title, without_tracebacks(text) if title.startswith("Captured log")
                            else text) for title, text in report.sections]
    for number, one in enumerate(delivered, 1):
        state = "conforms" if one.conforms else "does NOT conform"
        report.sections.append((f"hookproof delivery {number} of {len(delivered)}: "
                                f"{one.provider} {one.event} {state}", one.report_text()))


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


