"""What a reference receiver is made of: where it keeps state, its secrets, and its parts.

Every part of the delivery pipeline is a field of :class:`ReceiverConfig`, so a variant with
exactly one part swapped is one :func:`dataclasses.replace` away::

    config = ReceiverConfig()
    broken = dataclasses.replace(config, verifier=accept_everything)
    app = create_app(broken)

Secrets are never part of the code: each provider's secret comes from the environment
(``HOOKPROOF_SECRET_<PROVIDER>``, e.g. ``HOOKPROOF_SECRET_TWILIO_CONVERSATIONS``, else the
shared ``HOOKPROOF_SECRET``), or from ``secrets`` when a test passes them explicitly.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hookproof.catalogue import Catalogue
from hookproof.receiver.answers import Answerer, ReferenceAnswerer
from hookproof.receiver.checks import ContractValidator, SignatureVerifier, Validator, Verifier
from hookproof.receiver.store import Store

Clock = Callable[[], float]
"""Unix time in seconds; the replay window is checked against it."""

SHARED_SECRET_VARIABLE = "HOOKPROOF_SECRET"


def secret_variable(provider_id: str) -> str:
    """The environment variable holding one provider's secret: ``HOOKPROOF_SECRET_VARDA``."""
    return f"{SHARED_SECRET_VARIABLE}_{provider_id.upper().replace('-', '_')}"


def resolve_secret(
    provider_id: str,
    secrets: Mapping[str, str],
    environ: Mapping[str, str],
) -> str | None:
    """The signing secret of ``provider_id``: ``secrets`` first, then its own environment
    variable, then the shared ``HOOKPROOF_SECRET``; ``None`` when none is set (or it is empty)."""
    for value in (
        secrets.get(provider_id),
        environ.get(secret_variable(provider_id)),
        environ.get(SHARED_SECRET_VARIABLE),
    ):
        if value:
            return value
    return None


def temporary_db() -> Path:
    """A fresh SQLite file in a new temporary directory (the default when no path is given)."""
    return Path(tempfile.mkdtemp(prefix="hookproof-receiver-")) / "receiver.sqlite3"


@dataclass(frozen=True)
class ReceiverConfig:
    """Everything :func:`hookproof.receiver.app.create_app` needs. All fields have defaults."""

    db: Path = field(default_factory=temporary_db)
    """SQLite file holding deliveries (dedupe) and effects."""

    secrets: Mapping[str, str] = field(default_factory=dict)
    """Provider id -> signing secret; takes precedence over the environment."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    """Where ``HOOKPROOF_SECRET_<PROVIDER>`` / ``HOOKPROOF_SECRET`` are read (at each request)."""

    public_url: str | None = None
    """Base URL the platform calls (``https://hooks.example.com/base``) when the receiver sits
    behind a proxy or tunnel. The signed URL is this base + the request path + its query.
    ``None``: the URL as received, ``scheme://Host/path?query``."""

    providers: tuple[str, ...] | None = None
    """Serve only these providers (default: every provider of the catalogue)."""

    catalogue: Catalogue | None = None
    """The contracts to serve (default: the bundled catalogue)."""

    max_body_bytes: int = 1024 * 1024
    """Larger bodies are refused with 413 before anything else is done with them."""

    replay_protection: bool = True
    """Timestamped schemes: a signature seen inside the replay window with another delivery id
    is a replay, refused (409) and not processed. Off only where independent runs send the
    same bytes to one receiver within a second or two (the project's shared test receivers);
    a platform never signs the same bytes twice for two deliveries."""

    # The parts. Each is small and replaceable on its own.
    verifier: Verifier = field(default_factory=SignatureVerifier)
    validator: Validator = field(default_factory=ContractValidator)
    answerer: Answerer = field(default_factory=ReferenceAnswerer)
    store: Store | None = None
    """Dedupe + effects; ``None`` means :class:`~hookproof.receiver.store.SqliteStore` on ``db``."""
    clock: Clock = time.time

    def secret_for(self, provider_id: str) -> str | None:
        return resolve_secret(provider_id, self.secrets, self.environ)
