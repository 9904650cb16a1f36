"""Hooks a team may implement in its own ``conftest.py``."""

from __future__ import annotations

import pytest


@pytest.hookspec(firstresult=True)
def pytest_hookproof_effects(config: pytest.Config, provider: str, event: str,
                             key: str) -> int | None:
    """How many times the receiver processed the delivery whose dedupe key is ``key``.

    Return the count (e.g. rows your handler wrote for that key), or None when you cannot
    tell. Used by the idempotency checks to prove a redelivery is processed once::

        def pytest_hookproof_effects(config, provider, event, key):
            return db.execute("select count(*) from orders where webhook_key = ?",
                              (key,)).fetchone()[0]
    """
