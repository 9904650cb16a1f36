"""A Twilio Frontline receiver on Flask, twilio's ``RequestValidator`` and the twilio helper
library: its ``onParticipantAdded`` fetches and updates the participant, as Twilio's Frontline
demo does. ``create_app()`` reads the auth token from ``HOOKPROOF_TEST_SECRET``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Flask
from twilio.rest import Client

from team_receivers import twilio_flask_app

ACCOUNT_SID = "AC7f3e9a2b5c1d4e8f9a0b1c2d3e4f5a6b"


def create_app() -> Flask:
    token = os.environ["HOOKPROOF_TEST_SECRET"]
    db = Path(tempfile.mkdtemp(prefix="flask-frontline-")) / "dedupe.sqlite"
    return twilio_flask_app(token, db, frontline=True,
                            twilio_client=Client(ACCOUNT_SID, token))
