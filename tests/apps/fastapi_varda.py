"""A Varda receiver on FastAPI, written from Varda's docs: ``X-Varda-Signature`` verified with
``hmac.compare_digest`` over ``"{t}.{raw body}"``, a 300 s replay window, ``X-Varda-Delivery``
deduplicated in SQLite opened by the app's lifespan (a request before startup would crash),
an effects probe. ``create_app()`` reads the secret from ``HOOKPROOF_TEST_SECRET``."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response

WINDOW = 300


def _verified(secret: str, header: str, body: bytes, *, bounded: bool = True) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    # at most 12 digits: int() of a 5,000-digit timestamp raises (the suite sends one)
    if not timestamp.isdigit() or (bounded and len(timestamp) > 12):
        return False
    if abs(time.time() - int(timestamp)) > WINDOW:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def create_unbounded_app() -> FastAPI:
    """The same receiver without the bound on the timestamp's digits: ``int()`` of the
    suite's 5,000-digit timestamp raises ``ValueError`` out of the handler (a bug the suite
    found in this very file's first version)."""
    return create_app(bounded=False)


def create_app(*, bounded: bool = True) -> FastAPI:
    secret = os.environ["HOOKPROOF_TEST_SECRET"]
    shutdown_marker = os.environ.get("FASTAPI_VARDA_SHUTDOWN_FILE")
    path = Path(tempfile.mkdtemp(prefix="fastapi-varda-")) / "deliveries.sqlite"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("CREATE TABLE IF NOT EXISTS seen (delivery TEXT PRIMARY KEY)")
        app.state.db = db
        yield
        db.close()
        if shutdown_marker:  # the tests see that the app's shutdown ran
            Path(shutdown_marker).write_text("shut down\n", encoding="utf-8")

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhooks/varda")
    async def varda(request: Request) -> Response:
        body = await request.body()
        if not _verified(secret, request.headers.get("X-Varda-Signature", ""), body,
                         bounded=bounded):
            return Response(status_code=401)
        try:
            event = json.loads(body)
        except ValueError:
            return Response(status_code=400)
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            return Response(status_code=400)
        delivery = request.headers.get("X-Varda-Delivery", "")
        request.app.state.db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (delivery,))
        return Response(status_code=200)

    @app.get("/webhooks/varda/effects")
    async def effects(key: str) -> dict[str, int]:
        found = app.state.db.execute("SELECT COUNT(*) FROM seen WHERE delivery = ?",
                                     (key,)).fetchone()
        return {"count": int(found[0])}

    return app
