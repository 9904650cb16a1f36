"""A Frontline ``onParticipantAdded`` receiver on Flask and twilio's ``RequestValidator``
that trusts the SIDs it is sent: it fetches the participant with twilio's library and lets
the library's error (a 404 for a SID that does not exist) become a 500.
``create_app()`` reads the auth token from ``HOOKPROOF_TEST_SECRET``."""

from __future__ import annotations

import os

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.rest import Client

ACCOUNT_SID = "AC7f3e9a2b5c1d4e8f9a0b1c2d3e4f5a6b"


def create_app() -> Flask:
    token = os.environ["HOOKPROOF_TEST_SECRET"]
    validator = RequestValidator(token)
    client = Client(ACCOUNT_SID, token)
    app = Flask("trusting-sids")

    @app.post("/hooks")
    def hook() -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form, signature):
            return Response("Forbidden", 403)
        if request.form.get("EventType") == "onParticipantAdded":
            # a missing SID is Flask's 400 (a KeyError on request.form); one that does not
            # exist is the platform's 404, raised by the library: the 500 the suite reports
            client.conversations.v1.conversations(request.form["ConversationSid"]).participants(
                request.form["ParticipantSid"]).fetch()
        return Response("", 200)

    return app
