"""The string formats contracts use, each enforced by a function of ours.

``jsonschema`` silently skips a format it has no checker for; hookproof registers exactly these
and the catalogue tests fail on any other format name, so no format check is ever skipped.
The same functions serve the fast validator, so both paths agree on every value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time; any number of fractional digits (Twilio sends nanoseconds)."""
    match = _DATE_TIME.fullmatch(value) if value.isascii() else None
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if second == 60:  # a leap second is valid RFC 3339; datetime cannot hold it
        second = 59
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    offset = match.group(8)
    if offset not in ("Z", "z"):
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        return hours <= 23 and minutes <= 59
    return True


def is_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None


def is_uri(value: str) -> bool:
    """An absolute URI: a scheme and, for hierarchical schemes, something after it."""
    if any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    if not parts.scheme or _SCHEME.match(parts.scheme) is None:
        return False
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    return bool(parts.netloc or parts.path)


def _parses_to(value: str, kind: type) -> bool:
    try:
        return isinstance(json.loads(value), kind)
    except ValueError:
        return False


def is_json_object_text(value: str) -> bool:
    """A string holding JSON text that parses to an object (Twilio ``Attributes``)."""
    return _parses_to(value, dict)


def is_json_array_text(value: str) -> bool:
    """A string holding JSON text that parses to an array (Twilio ``Media``)."""
    return _parses_to(value, list)


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    # A format asserts something of strings only; other types are the `type` keyword's business.
    def checker(value: object) -> bool:
        return check(value) if isinstance(value, str) else True

    checker.__name__ = check.__name__
    checker.__doc__ = check.__doc__
    return checker


FORMATS: dict[str, Callable[[object], bool]] = {
    "date-time": _strings_only(is_date_time),
    "email": _strings_only(is_email),
    "uri": _strings_only(is_uri),
    "json-object-text": _strings_only(is_json_object_text),
    "json-array-text": _strings_only(is_json_array_text),
}
"""Every format name a contract may use, with the function that enforces it."""
