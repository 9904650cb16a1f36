"""``hookproof serve``: the reference receiver on loopback, served by uvicorn."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from hookproof.catalogue import load_catalogue
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig, secret_variable


def describe(config: ReceiverConfig, base_url: str) -> str:
    """A start-up banner: the endpoints, the database, and which providers lack a secret."""
    catalogue = config.catalogue or load_catalogue()
    ids = config.providers if config.providers is not None else sorted(catalogue.providers)
    lines = [f"hookproof reference receiver on {base_url} (database: {config.db})"]
    for provider_id in ids:
        note = "" if config.secret_for(provider_id) else (
            f"  [no secret: set {secret_variable(provider_id)} or HOOKPROOF_SECRET; answers 500]"
        )
        lines.append(f"  {base_url}/{provider_id}{note}")
    lines.append(f"  effects probe: {base_url}/<provider>/effects?key=<dedupe key>")
    return "\n".join(lines)


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
    without one answers 500. ``public_url``: the base URL the platform calls, when the
    receiver sits behind a proxy or tunnel (the URL it signs is rebuilt from it).
    """
    config = (
        ReceiverConfig(public_url=public_url)
        if db is None
        else ReceiverConfig(db=Path(db), public_url=public_url)
    )
    app = create_app(config)
    print(describe(config, f"http://{host}:{port}"), file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="off",
                proxy_headers=False)


class BackgroundServer:
    """An ASGI app served by uvicorn on loopback in a daemon thread (demo and tests)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        # proto IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only for it,
        # and without it every answer waits ~40 ms (Nagle + delayed ACK)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name=f"hookproof-receiver-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the reference receiver did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
