"""Correct receivers written the way teams write them: on the platforms' own libraries.

The suite must pass each of these (no required finding): a judge that fails correct code is
as wrong as one that misses a defect. They are real HTTP servers on 127.0.0.1.

* :func:`twilio_flask_app` - Flask + twilio's ``RequestValidator`` over ``request.url`` and
  ``request.form``; it answers what a quick Express or Flask handler answers (``200 OK`` in
  ``text/plain`` where it changes nothing, as ``res.sendStatus(200)`` does), refuses a
  ``Media``/``Attributes`` value that is not JSON with 400, dedupes on
  ``I-Twilio-Idempotency-Token`` in SQLite and serves an effects probe. For Frontline it
  answers the callbacks and ``{}`` to ``onConversationAdd`` (nothing to change).
  ``proxy_fix=True`` puts werkzeug's ``ProxyFix`` in front, as on Heroku or behind nginx.
* :class:`AsyncEffectsStore` - the reference receiver's store, but the work is done after the
  answer, on a background thread (a queue worker): the effects probe shows it a moment later.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import make_server

from hookproof.receiver.answers import Answer
from hookproof.receiver.store import SeenDelivery, SqliteStore

PREFIX = "/hooks"


class _Dedupe:
    """``I-Twilio-Idempotency-Token`` under a UNIQUE constraint, and the effects it counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self.connect() as conn:
            conn.executescript(
                "CREATE TABLE IF NOT EXISTS seen (token TEXT PRIMARY KEY, answer TEXT);"
                "CREATE TABLE IF NOT EXISTS effects (token TEXT);")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def once(self, token: str, answer: str) -> str:
        """Process ``token`` once; a duplicate gets the first answer."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            inserted = conn.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)",
                                    (token, answer)).rowcount == 1
            if inserted:
                conn.execute("INSERT INTO effects VALUES (?)", (token,))
            stored = conn.execute("SELECT answer FROM seen WHERE token = ?",
                                  (token,)).fetchone()[0]
            conn.execute("COMMIT")
        return str(stored)

    def count(self, token: str) -> int:
        with self.connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM effects WHERE token = ?",
                                    (token,)).fetchone()[0])


def _customer(customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "display_name": f"Customer {customer_id}",
            "channels": [{"type": "sms", "value": "+15555550123"}]}


FRONTLINE_CALLBACKS: dict[str, Callable[[Any], Any]] = {
    "GetCustomerDetailsByCustomerId": lambda form: {
        "objects": {"customer": _customer(form.get("CustomerId", "1"))}},
    "GetCustomersList": lambda form: {"objects": {"customers": [
        {"customer_id": "1", "display_name": "Customer 1"}]}},
    "GetProxyAddress": lambda form: {"proxy_address": "+15555550100"},
    "GetTemplatesByCustomerId": lambda form: [
        {"display_name": "Openers", "templates": [{"content": "Hi, how can I help?"}]}],
}


def twilio_flask_app(auth_token: str, db: Path, *, frontline: bool = False,
                     proxy_fix: bool = False, twilio_client: Any = None) -> Flask:
    """A Twilio Conversations and Frontline receiver on Flask and ``RequestValidator``.

    ``twilio_client`` (a ``twilio.rest.Client``): Frontline's ``onParticipantAdded`` does what
    Twilio's Frontline demo does, through the helper library: it fetches the participant,
    merges the customer's details into its attributes and updates it.
    """
    app = Flask("team-receiver")
    validator = RequestValidator(auth_token)
    dedupe = _Dedupe(db)

    def verified() -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        return bool(validator.validate(request.url, request.form, signature))

    def json_params_ok() -> bool:
        for name in ("Media", "Attributes"):
            value = request.form.get(name)
            if value:
                try:
                    json.loads(value)
                except ValueError:
                    return False
        return True

    def handle(answer: Callable[[], Response]) -> Response:
        if not verified():
            return Response("Forbidden", 403, mimetype="text/plain")
        if not json_params_ok():
            return Response("Bad Request", 400, mimetype="text/plain")
        token = request.headers.get("I-Twilio-Idempotency-Token", "")
        first = answer()
        stored = json.loads(dedupe.once(token, json.dumps(
            [first.status_code, first.get_data(as_text=True), first.mimetype])))
        return Response(stored[1], stored[0], mimetype=stored[2])

    def ok_text() -> Response:
        return Response("OK", 200, mimetype="text/plain")  # Express: res.sendStatus(200)

    def participant_added() -> Response:
        conversation, sid = request.form.get("ConversationSid"), request.form.get("ParticipantSid")
        if not conversation or not sid:
            return Response("Bad Request", 400, mimetype="text/plain")
        try:
            participant = twilio_client.conversations.v1.conversations(
                conversation).participants(sid).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:  # gone already (or never there): nothing to update
                return ok_text()
            raise
        attributes = json.loads(participant.attributes or "{}")
        customer = _customer(str(attributes.get("customer_id", "1")))
        attributes.update(customer_id=customer["customer_id"],
                          display_name=customer["display_name"])
        participant.update(attributes=json.dumps(attributes))
        return ok_text()

    @app.post(PREFIX)
    def conversations() -> Response:
        event = request.form.get("EventType")
        if frontline and event == "onConversationAdd":
            return handle(lambda: jsonify({}))  # nothing to change: no known customer
        if frontline and twilio_client is not None and event == "onParticipantAdded":
            return handle(participant_added)
        return handle(ok_text)

    def callback() -> Response:
        location = request.form.get("Location", "")
        compose = FRONTLINE_CALLBACKS.get(location)
        if compose is None:
            return handle(lambda: Response(json.dumps({"error": "unknown location"}), 422,
                                           mimetype="application/json"))
        return handle(lambda: jsonify(compose(request.form)))

    for group in ("crm", "outgoing", "templates"):
        app.add_url_rule(f"{PREFIX}/{group}", f"callback_{group}", callback, methods=["POST"])
    app.add_url_rule(f"{PREFIX}/routing", "routing", lambda: handle(ok_text),
                     methods=["POST"])

    @app.get(f"{PREFIX}/effects")
    def effects() -> Response:
        return jsonify({"count": dedupe.count(request.args.get("key", ""))})

    if proxy_fix:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1,  # type: ignore[method-assign]
                                x_host=1, x_port=1)
    return app


def serve_wsgi(app: Any) -> tuple[str, Callable[[], None]]:
    """Serve a WSGI app on an ephemeral loopback port (threaded); ``(base_url, stop)``."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", stop


class AsyncEffectsStore(SqliteStore):
    """Dedupes when the delivery arrives (UNIQUE insert) and answers at once; the work itself
    runs on a worker thread ``DELAY`` seconds later, as a job queue would run it."""

    DELAY = 0.3

    def record(self, delivery: SeenDelivery, answer: Answer) -> Answer:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            inserted = self.claim(conn, delivery, answer)
            conn.execute("COMMIT")
        if inserted:
            threading.Timer(self.DELAY, self._work, args=(delivery,)).start()
        return answer

    def _work(self, delivery: SeenDelivery) -> None:
        with self.connect() as conn:
            self.apply_effect(conn, delivery)


def serve_in_process(auth_token: str, *, frontline: bool = False,
                     proxy_fix: bool = False) -> tuple[str, Callable[[], None]]:
    """Serve :func:`twilio_flask_app` from its own Python process, as a team runs it (and off
    the test's interpreter lock); ``(base_url, stop)``."""
    import os
    import subprocess
    import sys
    import tempfile

    db = Path(tempfile.mkdtemp()) / "db.sqlite3"
    command = [sys.executable, __file__, str(db), "frontline" if frontline else "-",
               "proxy" if proxy_fix else "-"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env={**os.environ, "TEAM_RECEIVER_TOKEN": auth_token})
    assert process.stdout is not None
    base = process.stdout.readline().strip()

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)

    return base, stop


if __name__ == "__main__":
    import logging
    import os
    import sys

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    db_path, frontline_flag, proxy_flag = sys.argv[1:4]
    served = make_server("127.0.0.1", 0, twilio_flask_app(
        os.environ["TEAM_RECEIVER_TOKEN"], Path(db_path), frontline=frontline_flag == "frontline",
        proxy_fix=proxy_flag == "proxy"), threaded=True)
    print(f"http://127.0.0.1:{served.server_port}", flush=True)
    served.serve_forever()
