"""The baseline: known failures a team accepts for now (``--hookproof-baseline``), named
``provider/event/check``; a baselined failure is reported, never blocking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hookproof.errors import HookproofError


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
