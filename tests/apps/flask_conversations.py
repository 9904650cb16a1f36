"""The Flask + ``RequestValidator`` Twilio Conversations receiver of ``team_receivers``, for
``--target-app``; ``create_proxied_app()`` has werkzeug's ``ProxyFix`` in front (deployed
behind a proxy: it verifies over the public URL rebuilt from ``X-Forwarded-*``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Flask

from team_receivers import twilio_flask_app


def _db() -> Path:
    return Path(tempfile.mkdtemp(prefix="flask-conversations-")) / "dedupe.sqlite"


def create_app() -> Flask:
    return twilio_flask_app(os.environ["HOOKPROOF_TEST_SECRET"], _db())


def create_proxied_app() -> Flask:
    return twilio_flask_app(os.environ["HOOKPROOF_TEST_SECRET"], _db(), proxy_fix=True)
