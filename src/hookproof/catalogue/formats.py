"""The string formats contracts use, each enforced by a function of ours.

``jsonschema`` silently skips a format it has no checker for; hookproof registers exactly these
and the catalogue tests fail on any other format name, so no format check is ever skipped.
The same functions serve the fast validator, so both paths agree on every value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from hookproof.safejson import decode

_DATE_TIME = re.compile(
    # the ranges datetime() checks are in the pattern; only days 29-31 need the calendar
    r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:"
    r"(?:[0-5]\d|60)(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
_SPACE = re.compile(r"\s")


_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time; any number of fractional digits (Twilio sends nanoseconds); a
    leap second (``:60``) is valid RFC 3339."""
    match = _DATE_TIME.fullmatch(value) if value.isascii() else None
    if match is None:
        return False
    year, month, day, _ = match.groups()
    if year == "0000":  # datetime() has no year 0: neither do we
        return False
    if day < "29":
        return True
    days = int(day)
    if days > _DAYS[int(month)]:
        return False
    if month == "02" and days == 29:
        number = int(year)
        return number % 4 == 0 and (number % 100 != 0 or number % 400 == 0)
    return True


def is_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None


def is_uri(value: str) -> bool:
    """An absolute URI: a scheme and, for hierarchical schemes, something after it."""
    if _SPACE.search(value) is not None:
        return False
    parts = urlsplit(value)
    if not parts.scheme or _SCHEME.match(parts.scheme) is None:
        return False
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    return bool(parts.netloc or parts.path)


def _parses_to(value: str, kind: type) -> bool:
    try:
        return isinstance(decode(value), kind)
    except (ValueError, RecursionError):
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


STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "email": is_email,
    "uri": is_uri,
    "json-object-text": is_json_object_text,
    "json-array-text": is_json_array_text,
}
"""The same functions unwrapped, for a validator that asks them of strings only
(jsonschema_rs never passes another type to a format)."""

FORMATS: dict[str, Callable[[object], bool]] = {
    "date-time": _strings_only(is_date_time),
    "email": _strings_only(is_email),
    "uri": _strings_only(is_uri),
    "json-object-text": _strings_only(is_json_object_text),
    "json-array-text": _strings_only(is_json_array_text),
}
"""Every format name a contract may use, with the function that enforces it."""
