"""``hookproof serve``: the reference receiver on loopback, served by uvicorn."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    db: Path | str | None = None,
    *,
    public_url: str | None = None,
    log_level: str = "info",
) -> None:
    """Run the reference receiver until interrupted (Ctrl-C).

    ``db`` is the SQLite file of deliveries and effects (default: a new temporary file).
    Secrets come from ``HOOKPROOF_SECRET_<PROVIDER>`` or ``HOOKPROOF_SECRET``; a provider
    without one answers 500.
    """
    config = ReceiverConfig(public_url=public_url)
    if db is not None:
        config = ReceiverConfig(db=Path(db), public_url=public_url)
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level,
                lifespan="off", proxy_headers=False)
