"""hookproof conformance checks: payload. Generated per event from the check registry."""

from __future__ import annotations

from typing import Any


def test_payload(hookproof_check: Any) -> None:
    hookproof_check.run()
