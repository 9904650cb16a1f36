"""A Flask Varda receiver whose handler raises on every delivery (``KeyError``), for
``--target-app``: Flask logs each exception, and fuzzing sends many while it shrinks."""

from __future__ import annotations

from flask import Flask, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/varda")
    def varda() -> str:
        payload = request.get_json(force=True, silent=True) or {}
        return str(payload["crm_id"])  # KeyError: the bug

    return app
