"""``hookproof_deliver``: one signed delivery from a team's own test, judged as the suite judges.

A team writes ``assert hookproof_deliver("onMessageAdd").conforms`` (or sends its own payload,
or the bundled one with a few fields changed) and gets the exchange with the verdict of the
suite's own rules (:class:`hookproof.checks.judge.Judge`, which ``hookproof send`` uses too): the
status the platform expects, a response-bearing hook's body against its contract, the time
budget. The target is the configured one: ``--target-url``, ``--target-app`` or the
``hookproof_app`` fixture's app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hookproof.checks.failures import CheckFailure
from hookproof.errors import InputError, UsageError
from hookproof.reach.settings import Settings
from hookproof.transport.client import Exchange
from hookproof.transport.scope import PlatformCall


@dataclass(frozen=True)
class Delivered:
    """One delivery sent by ``hookproof_deliver``, what came back, and the suite's verdict."""

    provider: str
    event: str
    exchange: Exchange
    verdict: str
    """Why it conforms, or the finding's title."""
    failure: CheckFailure | None = None
    """The suite's finding, if any (a recommended one does not stop it conforming, unless
    the run is strict)."""
    strict: bool = False
    """``--hookproof-strict``: recommended findings count, as they do for the suite."""

    @property
    def conforms(self) -> bool:
        """The answer is what the platform expects (no finding that would fail the run)."""
        from hookproof.checks.verdict import blocking

        return self.failure is None or not blocking(self.failure.severity, strict=self.strict)

    @property
    def status(self) -> int | None:
        return self.exchange.status

    @property
    def body(self) -> bytes:
        return self.exchange.body

    def json(self) -> Any:
        return self.exchange.json()

    @property
    def platform_calls(self) -> tuple[PlatformCall, ...]:
        """The calls the receiver made to the platform while answering (in process)."""
        return self.exchange.platform_calls

    def __repr__(self) -> str:
        state = "conforms" if self.conforms else "does NOT conform"
        answer = (f"HTTP {self.exchange.status}" if self.exchange.status is not None
                  else f"no answer ({self.exchange.error})")
        return f"<Delivered {self.provider} {self.event}: {answer}: {state}: {self.verdict}>"

    def __str__(self) -> str:
        return str(self.failure) if self.failure is not None else repr(self)

    def report_text(self) -> str:
        """The whole delivery for a failing test's report: the finding with what was sent,
        what came back and the reproduction, or (no finding) what was sent and answered."""
        from hookproof.checks.failures import render_exchange

        if self.failure is not None:
            return str(self.failure)
        return "\n".join([repr(self), *render_exchange(self.exchange)])


def changed(payload: Any, changes: Mapping[str, Any], *, form: bool) -> Any:
    """``payload`` with ``changes`` applied: a key is a top-level field, or a dotted path
    (``data.id``) for JSON payloads; ``None`` removes the field. Form parameters are text."""
    import copy

    result = copy.deepcopy(payload)
    if not isinstance(result, dict):
        raise InputError("changes apply to an object payload; this one is "
                         f"{type(payload).__name__}")
    for key, value in changes.items():
        path = [key] if form or "." not in key else key.split(".")
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if value is None:
            node.pop(path[-1], None)
        elif form and not isinstance(value, str | list):
            node[path[-1]] = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            node[path[-1]] = value
    return result


class Deliverer:
    """The callable ``hookproof_deliver`` fixture: a target per provider, built on demand."""

    def __init__(self, settings: Settings, *, app_transport: Any = None,
                 session_target: Any = None) -> None:
        self.settings = settings
        self.app_transport = app_transport
        self.targets: dict[str, Any] = {}
        if session_target is not None:
            self.targets[session_target.provider.id] = session_target

    def _target(self, provider_id: str) -> Any:
        import dataclasses

        from hookproof.catalogue import load_catalogue
        from hookproof.catalogue.validation import engine_for
        from hookproof.reach.target import make_target

        if provider_id in self.targets:
            return self.targets[provider_id]
        if self.settings.target_url is None:
            raise UsageError("hookproof_deliver needs a target: --target-url URL, --target-app "
                             "module:attr, or a hookproof_app fixture returning your app")
        catalogue = load_catalogue()
        provider = catalogue.provider(provider_id)
        settings = dataclasses.replace(self.settings, provider=provider.id)
        target = make_target(provider, settings, secret=settings.secret(),
                             engine=engine_for(catalogue))
        if self.app_transport is not None:
            from hookproof.catalogue.platform_stub import PlatformGuard

            target.client.app = self.app_transport
            target.effects.app = self.app_transport
            target.platform = PlatformGuard(stub=not settings.no_platform_stub)
        self.targets[provider_id] = target
        return target

    def __call__(self, event: str, provider: str | None = None, payload: Any = None,
                 **changes: Any) -> Delivered:
        from hookproof.catalogue.examples import canonical_example
        from hookproof.catalogue.inputs import read_payload
        from hookproof.checks.judge import Judge

        provider_id = provider or self.settings.provider
        if not provider_id:
            raise UsageError("hookproof_deliver: give provider=... (or set hookproof_provider "
                             "in the ini file)")
        target = self._target(provider_id)
        known = target.provider
        hook = known.event(event)
        if payload is None:
            payload = canonical_example(known.id, hook.name).payload
        elif isinstance(payload, str | Path):
            payload = read_payload(known, Path(payload))
        if changes:
            payload = changed(payload, changes, form=known.transport.encoding == "form")
        delivery = target.builder.build(hook, payload)
        with target.platform_active():
            exchange = target.client.send(delivery.request,
                                          timeout=hook.budget + 2.0)
        judge = Judge(known, hook, target)
        try:
            verdict = judge.accepted(exchange)
            failure = None
        except CheckFailure as found:
            verdict, failure = found.title, found
        return Delivered(known.id, hook.name, exchange, verdict, failure,
                         strict=bool(self.settings.strict))

    def close(self) -> None:
        for target in self.targets.values():
            if target.client.app is None:
                target.client.close()
