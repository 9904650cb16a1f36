"""hookproof conformance checks: signature. Generated per event from the check registry."""

from __future__ import annotations

from typing import Any


def test_signature(hookproof_check: Any) -> None:
    hookproof_check.run()
