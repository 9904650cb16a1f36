"""The HTTP model: one request exactly as it goes on the wire, which every layer above shares
(the builder makes it, a scheme signs it, a transport sends it, a receiver verifies it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request exactly as it goes on the wire (or as a receiver sees it)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        # Own a private copy so that a caller mutating its dict cannot change a signed request.
        object.__setattr__(self, "headers", dict(self.headers))

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        return header(self, name)

    def with_headers(self, headers: Mapping[str, str] | None = None, /, **more: str) -> WireRequest:
        """A copy with these headers added; an existing header of the same name (in any case) is
        replaced. Keyword names are used literally, so pass hyphenated names in the mapping."""
        updates = {**(headers or {}), **more}
        lowered = {name.lower() for name in updates}
        kept = {k: v for k, v in self.headers.items() if k.lower() not in lowered}
        return replace(self, headers={**kept, **updates})

    def without_headers(self, *names: str) -> WireRequest:
        """A copy without these headers (case-insensitive)."""
        lowered = {name.lower() for name in names}
        return replace(
            self, headers={k: v for k, v in self.headers.items() if k.lower() not in lowered}
        )

    def with_body(self, body: bytes) -> WireRequest:
        return replace(self, body=body)

    def with_url(self, url: str) -> WireRequest:
        return replace(self, url=url)


def header(request: WireRequest, name: str) -> str | None:
    """Case-insensitive header lookup: the value of ``name`` on ``request``, or ``None``."""
    wanted = name.lower()
    for key, value in request.headers.items():
        if key.lower() == wanted:
            return value
    return None


def required_header(request: WireRequest, name: str) -> str:
    """The value of header ``name``, which a scheme needs before it can sign."""
    value = header(request, name)
    if value is None:
        raise ValueError(f"set {name} on the request before signing")
    return value
