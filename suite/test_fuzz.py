"""hookproof conformance checks: fuzz. Generated per event from the check registry."""

from __future__ import annotations

from typing import Any


def test_fuzz(hookproof_check: Any) -> None:
    hookproof_check.run()
