"""The small pieces signatures are made of: HMAC, constant-time comparison, the timestamp and
digest patterns, and the URL forms (without query or fragment, with the default port toggled)."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_DIGITS: Final = re.compile(r"[0-9]+", re.ASCII)
UNIX_SECONDS: Final = re.compile(r"[0-9]{1,12}", re.ASCII)
"""A Unix timestamp: bounded, so that a hostile 5,000-digit value is refused before int()."""
HEX64: Final = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
"""A hex SHA-256 digest."""


def sha256_hex(body: bytes) -> str:
    """Lower-case hex SHA-256 of ``body``."""
    return hashlib.sha256(body).hexdigest()


def hmac_digest(key: bytes, message: bytes, digest: str) -> bytes:
    """The raw HMAC of ``message``."""
    return hmac.new(key, message, digest).digest()


def same(received: str, expected: str) -> bool:
    """Constant-time equality of two signature strings (any text is accepted as received)."""
    return hmac.compare_digest(received.encode("utf-8", "surrogatepass"), expected.encode("ascii"))


def strip_fragment(url: str) -> str:
    """``url`` without its fragment (it is never sent)."""
    return url.partition("#")[0]


def url_without_query(url: str) -> str:
    """``url`` with its query string (and any fragment) removed, the rest untouched."""
    return strip_fragment(url).partition("?")[0]


def _split_netloc(url: str) -> tuple[str, str, str] | None:
    """Split ``url`` into (``scheme://``, netloc, rest) without re-serialising anything."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            end = min(end, index)
    return scheme + sep, rest[:end], rest[end:]


def default_port_variants(url: str) -> tuple[str, ...]:
    """``url`` itself, then the same URL with the default port toggled.

    ``https://host/p`` gives ``("https://host/p", "https://host:443/p")`` and
    ``http://host:80/p`` gives ``("http://host:80/p", "http://host/p")``. A URL with a non-default
    port, or of another scheme, gives only itself. Nothing else in the URL is touched.
    """
    parts = _split_netloc(url)
    if parts is None:
        return (url,)
    prefix, netloc, rest = parts
    default = _DEFAULT_PORTS.get(prefix[:-3].lower())
    if default is None:
        return (url,)
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        close = hostport.find("]")
        if close == -1:
            return (url,)
        host, after = hostport[: close + 1], hostport[close + 1 :]
        port = after[1:] if after.startswith(":") else None
        if after and port is None:
            return (url,)
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
    if port is None:
        new_hostport = f"{host}:{default}"
    elif _DIGITS.fullmatch(port) and int(port) == default:
        new_hostport = host
    else:
        return (url,)
    return (url, f"{prefix}{userinfo}{at}{new_hostport}{rest}")
