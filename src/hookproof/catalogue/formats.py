"""The string formats contracts use, each enforced by a function of ours.

Every format JSON Schema 2020-12 defines is checked here, and so are the bundled contracts'
own (``json-object-text``, ``json-array-text``); the catalogue tests fail on any other format
name in a bundled contract. A team's contract may use a format nobody defines (OpenAPI's
``int64``, a platform's ``color``): as the specification says, an unknown format is ignored,
and ``hookproof list`` counts it so the team sees it. OpenAPI's ``int32`` and ``int64`` and a
provider's own ``formats:`` are range and pattern keywords, merged into the schema
(:func:`keyword_formats`), so both validators enforce them alike. The same functions serve the
fast validator, so both paths agree on every value.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
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


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?"
                   r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)")
_DURATION = re.compile(r"P(?:(?:\d+Y(?:\d+M(?:\d+D)?)?|\d+M(?:\d+D)?|\d+D)"
                       r"(?:T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))?"
                       r"|T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S)|\d+W)")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_POINTER = re.compile(r"(?:/(?:[^~/]|~[01])*)*")
_RELATIVE_POINTER = re.compile(r"(?:0|[1-9]\d*)(?:#|(?:/(?:[^~/]|~[01])*)*)")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TEMPLATE_EXPRESSION = re.compile(
    r"[+#./;?&=,!@|]?(?:[A-Za-z0-9_.]|%[0-9A-Fa-f]{2})+(?::[1-9]\d{0,3}|\*)?"
    r"(?:,(?:[A-Za-z0-9_.]|%[0-9A-Fa-f]{2})+(?::[1-9]\d{0,3}|\*)?)*")


def is_date(value: str) -> bool:
    """RFC 3339 full-date."""
    if not value.isascii() or _DATE.fullmatch(value) is None:
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_time(value: str) -> bool:
    """RFC 3339 full-time (an offset is required)."""
    return value.isascii() and _TIME.fullmatch(value) is not None


def is_duration(value: str) -> bool:
    """RFC 3339 appendix A (ISO 8601) duration."""
    return value.isascii() and _DURATION.fullmatch(value) is not None


def is_hostname(value: str) -> bool:
    """RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    name = value[:-1] if value.endswith(".") else value
    return (value.isascii() and 0 < len(name) <= 253
            and all(_LABEL.fullmatch(label) for label in name.split(".")))


def is_idn_hostname(value: str) -> bool:
    try:
        return is_hostname(value.encode("idna").decode("ascii"))
    except UnicodeError:
        return False


def is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return value.isascii()


def is_ipv6(value: str) -> bool:
    if "%" in value:  # a zone id is not part of RFC 4291's text form
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return value.isascii()


def is_uri_reference(value: str) -> bool:
    """A URI or a relative reference: no white space, every ``%`` an escape."""
    return _SPACE.search(value) is None and _BAD_ESCAPE.search(value) is None


def is_uri_template(value: str) -> bool:
    """RFC 6570: literal text and ``{...}`` expressions (an operator, then variables)."""
    rest = value
    while rest:
        start = rest.find("{")
        literal, rest = (rest, "") if start < 0 else (rest[:start], rest[start + 1:])
        if "}" in literal or _SPACE.search(literal):
            return False
        if start < 0:
            break
        end = rest.find("}")
        if end < 0 or _TEMPLATE_EXPRESSION.fullmatch(rest[:end]) is None:
            return False
        rest = rest[end + 1:]
    return True


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def is_json_pointer(value: str) -> bool:
    return _POINTER.fullmatch(value) is not None


def is_relative_json_pointer(value: str) -> bool:
    return _RELATIVE_POINTER.fullmatch(value) is not None


def is_regex(value: str) -> bool:
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "date": is_date,
    "time": is_time,
    "duration": is_duration,
    "email": is_email,
    "idn-email": is_email,
    "hostname": is_hostname,
    "idn-hostname": is_idn_hostname,
    "ipv4": is_ipv4,
    "ipv6": is_ipv6,
    "uri": is_uri,
    "iri": is_uri,
    "uri-reference": is_uri_reference,
    "iri-reference": is_uri_reference,
    "uri-template": is_uri_template,
    "uuid": is_uuid,
    "json-pointer": is_json_pointer,
    "relative-json-pointer": is_relative_json_pointer,
    "regex": is_regex,
    "json-object-text": is_json_object_text,
    "json-array-text": is_json_array_text,
}
"""The same functions unwrapped, for a validator that asks them of strings only
(jsonschema_rs never passes another type to a format)."""

FORMATS: dict[str, Callable[[object], bool]] = {
    name: _strings_only(check) for name, check in STRING_FORMATS.items()}
"""Every format name a bundled contract may use, with the function that enforces it."""

BUNDLED_ONLY = frozenset({"json-object-text", "json-array-text"})
"""The formats of hookproof's own contracts (the rest are JSON Schema 2020-12's)."""

KEYWORD_FORMATS: dict[str, Mapping[str, Any]] = {
    # OpenAPI 3.1's format registry: integers of a width
    "int32": {"minimum": -(2**31), "maximum": 2**31 - 1},
    "int64": {"minimum": -(2**63), "maximum": 2**63 - 1},
}
"""Formats that are JSON Schema keywords in disguise, for every provider; a provider's own
``formats:`` adds to (or replaces) them."""


def keyword_formats(schema: Any, formats: Mapping[str, Mapping[str, Any]]) -> Any:
    """``schema`` with every ``format`` named in ``formats`` given its keywords (in an
    ``allOf``, so they hold whatever the node already says)."""
    if isinstance(schema, list):
        return [keyword_formats(item, formats) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: (value if key in ("enum", "const", "examples", "default")
                 else keyword_formats(value, formats)) for key, value in schema.items()}
    name = out.get("format")
    if isinstance(name, str) and name in formats:
        out["allOf"] = [*out.get("allOf", []), dict(formats[name])]
    return out


def unknown_formats(schema: Any, known: Mapping[str, object]) -> Iterator[str]:
    """The format names in ``schema`` that nothing defines (each occurrence)."""
    if isinstance(schema, list):
        for item in schema:
            yield from unknown_formats(item, known)
    elif isinstance(schema, dict):
        name = schema.get("format")
        if isinstance(name, str) and name not in known and name not in STRING_FORMATS:
            yield name
        for key, value in schema.items():
            if key not in ("enum", "const", "examples", "default", "format"):
                yield from unknown_formats(value, known)
