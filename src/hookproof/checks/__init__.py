"""The checks: small named functions in one registry (``REGISTRY``), one module per group
(``signature``, ``payload``, ``response``, ``idempotency``, ``fuzzing``) over a shared ``base``.

Each check builds its deliveries, sends them through the :class:`Target`, and either returns
(pass), raises :class:`CheckFailure` (fail, with a severity) or :class:`NotObserved`.
``applies`` decides for which events of a provider a check is generated at all.

The package holds the checks and what judges: ``engine`` runs one case against one target
under one policy (``--hookproof-strict``, the baseline) and gives its record, with no pytest
in it (the plugin only maps a record onto pytest's outcomes); ``base`` holds the registry,
the context and the judges, ``generation`` and ``corpus`` the generated payloads, ``failures`` the
structured findings, ``verdict`` the outcome type and what blocks a run, and ``judge`` the
rules applied to one exchange made outside a check (``send``, ``replay``, ``listen``, the
fixture).
Building deliveries and reaching the receiver (``builder``, ``target``, ``managed``) is the
layer below, :mod:`hookproof.reach`.

It may import the base modules, the transports, signing, the catalogue and ``reach``; never
the reports, the pytest adapter or the commands.
"""

from __future__ import annotations

# importing a group registers its checks, in the order a person fixes things
from hookproof.checks import fuzzing, idempotency, payload, response, signature  # noqa: F401
from hookproof.checks.base import (
    GROUP_ORDER,
    REFUSAL_DIAGNOSIS,
    REGISTRY,
    WRONG_SECRET,
    Case,
    Check,
    Context,
    cases,
    check,
    platform_hint,
    run,
    same_refusal,
)
from hookproof.checks.idempotency import _same_answer
from hookproof.checks.payload import future_event_name
from hookproof.checks.response import check_answer
from hookproof.checks.signature import malformed_headers

# the registry in the order a person fixes things, whatever order the groups were imported in
_ordered = sorted(REGISTRY.items(), key=lambda item: GROUP_ORDER.index(item[1].group))
REGISTRY.clear()
REGISTRY.update(_ordered)

__all__ = [
    "GROUP_ORDER", "REFUSAL_DIAGNOSIS", "REGISTRY", "WRONG_SECRET", "Case", "Check", "Context",
    "_same_answer", "cases", "check", "check_answer", "future_event_name", "malformed_headers",
    "platform_hint", "run", "same_refusal",
]
