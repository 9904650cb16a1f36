"""GitHub and Svix-family receivers written the way teams write them (FastAPI), correct and
with the flaws real ones have. Real HTTP servers on 127.0.0.1 (:func:`receivers.run_in_thread`).

* :func:`github_app` verifies ``X-Hub-Signature-256`` over the raw body with
  ``hmac.compare_digest`` on bytes, branches on ``X-GitHub-Event`` and the body's ``action``,
  answers 400 to a body it cannot use and 202 to an event it does not handle. Its flaws:

  - ``head_commit``: ``payload.get("head_commit", {}).get("id")`` (GitHub sends
    ``"head_commit": null`` when a push deletes a branch);
  - ``lenient``: strips ``sha256=`` with ``replace`` and decodes the hex up to the first
    non-hex character, as Node's ``Buffer.from(sig, "hex")`` does;
  - ``str_compare``: ``hmac.compare_digest`` on ``str``, as GitHub's guide does (raises on
    a non-ASCII header: a 500);
  - ``unverified``: verifies nothing.
* :func:`svix_app` verifies with the ``svix`` package (Clerk style, ``svix-*`` headers) or the
  ``standardwebhooks`` package (``webhook-*``); flaw ``data_null``: ``payload["data"]["id"]``
  (Resend sends ``"data": null`` on some events).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from fastapi import FastAPI, Request, Response


def _hex_prefix(text: str) -> bytes:
    """What ``Buffer.from(text, "hex")`` gives: the bytes of the leading hex pairs."""
    match = re.match(r"(?:[0-9a-fA-F]{2})*", text)
    return bytes.fromhex(match.group(0) if match else "")


def github_app(secret: str, flaw: str | None = None) -> FastAPI:
    app = FastAPI()
    key = secret.encode()

    @app.post("/github")
    async def hook(request: Request) -> Response:
        body = await request.body()
        received = request.headers.get("X-Hub-Signature-256", "")
        digest = hmac.new(key, body, hashlib.sha256)
        if flaw == "lenient":
            ok = hmac.compare_digest(_hex_prefix(received.replace("sha256=", "")),
                                     digest.digest())
        elif flaw == "str_compare":
            ok = hmac.compare_digest(received, "sha256=" + digest.hexdigest())
        elif flaw == "unverified":
            ok = True
        else:
            ok = hmac.compare_digest(received.encode("latin-1"),
                                     ("sha256=" + digest.hexdigest()).encode())
        if not ok:
            return Response(status_code=401)
        try:
            payload = json.loads(body)
        except ValueError:
            return Response(status_code=400)
        if not isinstance(payload, dict):
            return Response(status_code=400)
        event = request.headers.get("X-GitHub-Event", "")
        if event == "ping":
            return Response('{"ok": true}', media_type="application/json")
        if event == "push":
            if flaw == "head_commit":
                commit_id = payload.get("head_commit", {}).get("id")
            else:
                commit = payload.get("head_commit")
                commit_id = commit.get("id") if isinstance(commit, dict) else None
            if "ref" not in payload:
                return Response(status_code=400)
            return Response(json.dumps({"commit": commit_id}), media_type="application/json")
        if event == "pull_request":
            pull = payload.get("pull_request")
            if not isinstance(pull, dict) or "number" not in payload:
                return Response(status_code=400)
            return Response(json.dumps({"pull": payload["number"],
                                        "action": payload.get("action")}),
                            media_type="application/json")
        return Response(status_code=202)  # an event this app does not handle

    return app


def svix_app(secret: str, library: str, flaw: str | None = None) -> FastAPI:
    app = FastAPI()

    def verify(body: bytes, headers: dict[str, str]) -> Any:
        if library == "svix":
            from svix.webhooks import Webhook as SvixWebhook

            SvixWebhook(secret).verify(body, headers)  # raises when wrong; returns nothing
            return json.loads(body)
        from standardwebhooks import Webhook

        return Webhook(secret).verify(body, headers)

    @app.post("/hooks")
    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            payload = verify(body, dict(request.headers))
        except Exception:  # both libraries raise their own verification error
            return Response(status_code=400)
        if not isinstance(payload, dict) or "type" not in payload:
            return Response(status_code=400)
        if flaw == "data_null":
            identifier = payload["data"]["id"]
        else:
            data = payload.get("data")
            identifier = data.get("id") if isinstance(data, dict) else None
        return Response(json.dumps({"seen": identifier}), media_type="application/json")

    return app
