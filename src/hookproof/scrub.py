"""The signing secret never leaves hookproof: every text it writes passes through :func:`scrub`.

A receiver may echo the secret (in a header, in a 500 page that dumps its settings). Whatever
hookproof writes (the terminal, failures carried to JUnit and to the reports, the reports
themselves, a managed receiver's log) has the secret replaced by ``[secret]`` in each form it
may take there: as is, URL-encoded, Base64 (standard and URL-safe, with or without padding),
hex, and JSON-escaped; and where a text is cut (a body shown up to 600 bytes), a start of any of
these forms of 8 characters or more, right before the cut, too.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "[secret]"
MIN_PREFIX = 8
"""Shortest start of the secret hidden at a cut (shorter ones are too common to mean it)."""

_lock = threading.Lock()
_forms: list[str] = []
_pattern: re.Pattern[str] | None = None


def forms(secret: str) -> list[str]:
    """Every spelling of ``secret`` a text may carry, longest first."""
    raw = secret.encode("utf-8")
    spellings = {
        secret, quote(secret, safe=""), quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
        raw.hex(), raw.hex().upper(),
    }
    for encoder in (base64.b64encode, base64.urlsafe_b64encode):
        text = encoder(raw).decode("ascii")
        spellings |= {text, text.rstrip("=")}
    return sorted((s for s in spellings if s), key=len, reverse=True)


def _alternative(form: str) -> str:
    """The form, or a start of it of MIN_PREFIX characters or more at a cut."""
    whole = re.escape(form)
    if len(form) <= MIN_PREFIX:
        return whole
    rest = "".join(f"(?:{re.escape(ch)}" for ch in form[MIN_PREFIX:]) + ")?" * (
        len(form) - MIN_PREFIX)
    cut = re.escape(form[:MIN_PREFIX]) + rest + r"(?=…|\.\.\.|$)"
    return f"{whole}|{cut}"


def register(secret: str) -> None:
    """From now on, :func:`scrub` hides ``secret`` (in this process)."""
    global _pattern
    if not secret:
        return
    with _lock:
        for form in forms(secret):
            if form not in _forms:
                _forms.append(form)
        _forms.sort(key=len, reverse=True)
        _pattern = re.compile("|".join(_alternative(f) for f in _forms), re.MULTILINE)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters but tab and newline: ESC and BEL from a target's answer would set the
terminal's title, clear the screen or print a fake result line."""


def escape_controls(text: str) -> str:
    """``text`` with every control character (but tab and newline) written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def scrub(text: str) -> str:
    """``text`` with every registered secret hidden and every control character escaped
    (everything hookproof writes goes through here: the terminal, failures, reports, logs)."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return escape_controls(text) if _CONTROL.search(text) else text


def scrub_data(value: object) -> object:
    """A JSON-like value with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v) for v in value]
    return value


__all__ = ["MASK", "escape_controls", "forms", "register", "scrub", "scrub_data"]
