"""Errors a user can act on: each carries one line that says what is wrong."""

from __future__ import annotations


class HookproofError(Exception):
    """Base of every error hookproof reports as one clear line instead of a traceback."""


class UsageError(HookproofError):
    """A bad option, value or combination of them (exit code 4 under pytest, 2 in the CLI)."""


class UnknownProviderError(UsageError):
    def __init__(self, provider: str, known: list[str]) -> None:
        super().__init__(f"unknown provider {provider!r}; known providers: {', '.join(known)}")
        self.provider = provider


class UnknownEventError(UsageError):
    def __init__(self, provider: str, event: str, known: list[str]) -> None:
        super().__init__(
            f"unknown event {event!r} for provider {provider!r}; known events: {', '.join(known)}"
        )
        self.provider = provider
        self.event = event


class InputError(HookproofError):
    """Input that cannot be used: not JSON, not a form body, a missing file, no event name."""


class CatalogueError(HookproofError):
    """The bundled (or a user's) contracts are inconsistent: a bug in a manifest or schema."""
