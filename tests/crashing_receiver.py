"""The reference receiver, except that one event kills it: ``python crashing_receiver.py PORT DB``.

A valid ``contact.created`` makes the handler print a stack trace and exit the whole process
(status 1) before it answers, as an unhandled rejection in an async Express 4 handler exits
Node 15+. Run as its own process, so that the crash ends a process hookproof did or did not
start.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import uvicorn

from hookproof.catalogue import Event, Provider
from hookproof.receiver.answers import Answer, ReferenceAnswerer
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig

CRASHING_EVENT = "contact.created"
REFERENCE = ReferenceAnswerer()


def dies_on_one_event(provider: Provider, event: Event, payload: Any) -> Answer:
    if event.name == CRASHING_EVENT:
        try:
            raise KeyError("crm_id")  # the handler looks up a field this contact lacks
        except KeyError:
            traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    return REFERENCE(provider, event, payload)


if __name__ == "__main__":
    port, db = int(sys.argv[1]), Path(sys.argv[2])
    config = ReceiverConfig(db=db, providers=("varda",), answerer=dies_on_one_event,
                            secrets={"varda": os.environ["HOOKPROOF_TEST_SECRET"]})
    print(f"crashing receiver on 127.0.0.1:{port}", flush=True)
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)
