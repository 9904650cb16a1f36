"""The fixtures, layered as settings -> session resource -> per-test view: ``hookproof_settings``,
``hookproof_app`` (override it with your app), ``hookproof_target``, ``hookproof_deliver`` (one
judged delivery from your own tests) and ``hookproof_check`` (the check a suite test runs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hookproof.plugin.stash_keys import (
    delivered_key,
    record_key,
    session_key,
    settings_key,
)
from hookproof.reach.settings import Settings


def overrides_app(config: pytest.Config) -> bool:
    """Whether a conftest already loaded defines ``hookproof_app``: the team's own app, run
    in-process by plain ``pytest``."""
    for plugin in config.pluginmanager.get_plugins():
        if (str(getattr(plugin, "__file__", "") or "").endswith("conftest.py")
                and hasattr(plugin, "hookproof_app")):
            return True
    return False


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
    from hookproof.plugin.deliver import Deliverer

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

        from hookproof.reach.settings import IN_PROCESS_ORIGIN
        from hookproof.transport.inprocess import AppTransport

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
            delivered = deliverer(event, provider, payload, **changes)
        except HookproofError as exc:
            pytest.fail(f"hookproof_deliver: {exc}", pytrace=False)
        # kept for the report: a failing test shows every delivery whole (what was sent,
        # what came back, the reproduction), whatever its assertion printed
        # (this fixture is session-wide: the list is the running test's, reset at its setup)
        pytestconfig.stash.setdefault(delivered_key, []).append(delivered)
        return delivered

    return deliver


@dataclass(frozen=True)
class CheckRun:
    """One generated check, bound to the test item that runs it, with what decides whether its
    failure blocks the run (``--hookproof-strict``, the baseline)."""

    case: Any
    target: Any
    item: pytest.Item
    strict: bool
    baseline: frozenset[str]
    baseline_update: bool = False

    def run(self) -> None:
        """Run the case through the engine and show its record as pytest's outcome: a check
        not run, not observed or not applicable is a skip with its reason; a baselined or
        recommended finding an expected failure; a finding that blocks, the failure."""
        from hookproof.checks.engine import Policy, run_case
        from hookproof.checks.verdict import Outcome
        from hookproof.scrub import scrub

        __tracebackhide__ = True
        record = run_case(self.case, self.target, Policy(
            strict=self.strict, baseline=self.baseline, baseline_update=self.baseline_update))
        self.item.stash[record_key] = record  # what the report's record is built from
        failure = record.failure
        if record.outcome in (Outcome.NOT_RUN, Outcome.NOT_OBSERVED, Outcome.SKIPPED):
            pytest.skip(record.reason)
        if failure is None:
            return
        if record.baselined:
            pytest.xfail(scrub(f"baselined: {failure.title}"))
        if not record.blocks:
            pytest.xfail(scrub(f"recommended: {failure.title} (expected {failure.expected}, "
                               f"got {failure.got}); fails with --hookproof-strict"))
        raise failure


@pytest.fixture
def hookproof_check(request: pytest.FixtureRequest, hookproof_target: Any) -> CheckRun:
    """The check this test runs (a case of the catalogue); call ``.run()``."""
    session = request.config.stash[session_key]
    return CheckRun(request.param, hookproof_target, request.node, session.settings.strict,
                    session.baseline, session.settings.baseline_update)
