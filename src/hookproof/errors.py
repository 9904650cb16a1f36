"""Errors a user can act on: each carries one line that says what is wrong."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class HookproofError(Exception):
    """Base of every error hookproof reports as one clear line instead of a traceback."""


class UsageError(HookproofError):
    """A bad option, value or combination of them (exit code 4 under pytest, 2 in the CLI)."""


LISTED_AT_MOST = 12
"""Names an error lists in full; past this it names the nearest and where the rest are."""


def nearest(given: str, known: Sequence[str], *, kind: str, listing: str = "") -> str:
    """What to say after "unknown <kind> 'given'": the nearest known names ("did you mean"),
    or every name where there are few, or how many there are and ``listing``, the command
    that lists them."""
    close = difflib.get_close_matches(given, known, n=3, cutoff=0.6)
    if not close:  # a case slip or a separator swapped (pull-request vs pull_request)
        folded = {k.lower().replace("-", "_"): k for k in known}
        found = folded.get(given.lower().replace("-", "_"))
        close = [found] if found else []
    if close:
        return "did you mean " + " or ".join(close) + "?"
    if len(known) <= LISTED_AT_MOST:
        return f"known {kind}s: {', '.join(known) or 'none'}"
    return f"{len(known)} {kind}s" + (f": {listing} lists them" if listing else "")


class UnknownProviderError(UsageError):
    def __init__(self, provider: str, known: list[str]) -> None:
        super().__init__(f"unknown provider {provider!r}; "
                         + nearest(provider, known, kind="provider", listing="hookproof list"))
        self.provider = provider


class UnknownEventError(UsageError):
    def __init__(self, provider: str, event: str, known: list[str]) -> None:
        super().__init__(
            f"unknown event {event!r} for provider {provider!r}; " + nearest(
                event, known, kind="event", listing=f"hookproof list --provider {provider}")
        )
        self.provider = provider
        self.event = event


class InputError(HookproofError):
    """Input that cannot be used: not JSON, not a form body, a missing file, no event name."""


class CatalogueError(HookproofError):
    """The bundled (or a user's) contracts are inconsistent: a bug in a manifest or schema."""
