"""The keys under which the plugin keeps its state in ``config.stash`` and ``item.stash``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from hookproof.reach.settings import Settings

if TYPE_CHECKING:
    from hookproof.plugin.session import HookproofSession

settings_key = pytest.StashKey[Settings]()
session_key: pytest.StashKey[HookproofSession] = pytest.StashKey()
record_key = pytest.StashKey[Any]()
"""The engine's :class:`~hookproof.checks.engine.Record` of the check the item ran: its
outcome, finding, baseline, latencies and platform calls."""
delivered_key = pytest.StashKey[list[Any]]()
"""The ``Delivered`` of every ``hookproof_deliver`` call of the running test, shown when it
fails (reset at each test's setup)."""
