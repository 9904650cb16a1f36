"""Receivers that pass one delivery at a time but fail under load: real HTTP servers on
127.0.0.1 (threaded), for ``hookproof load``'s tests.

* :class:`SlowsUnderConcurrency`: each answer takes 0.25 s per delivery in flight (a lock held
  across a database call, say): alone it answers at once, at 50 deliveries/s it takes seconds.
* :class:`LosesUnderLoad`: answers 200 at once and queues the work, but its worker does 20 a
  second and its queue holds 3: at 50 deliveries/s some are dropped (answered, never done),
  and it never deduplicates, so a retry is processed again.

Each counts what it processed per dedupe key and serves it as an effects probe at
``/effects?key=...``.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEDUPE_HEADERS = ("I-Twilio-Idempotency-Token", "X-Varda-Delivery", "X-Idempotency-Key",
                  "webhook-id")


class LoadReceiver:
    """A threaded server whose ``handle`` decides how a delivery is answered and processed."""

    def __init__(self) -> None:
        self.processed: Counter[str] = Counter()
        self.in_flight = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                key = parse_qs(parts.query).get("key", [""])[0]
                with receiver.lock:
                    count = receiver.processed.get(key, 0)
                self._answer(200, json.dumps({"count": count}).encode())

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = next((self.headers[h] for h in DEDUPE_HEADERS if self.headers.get(h)),
                           "")
                with receiver.lock:
                    receiver.in_flight += 1
                    in_flight = receiver.in_flight
                try:
                    receiver.handle(key, in_flight)
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1
                self._answer(200, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, key: str, in_flight: int) -> None:
        with self.lock:
            self.processed[key] = 1  # the correct way: once per key

    def __enter__(self) -> LoadReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlowsUnderConcurrency(LoadReceiver):
    def handle(self, key: str, in_flight: int) -> None:
        time.sleep(min(6.0, 0.25 * in_flight))
        super().handle(key, in_flight)


class LosesUnderLoad(LoadReceiver):
    """Answers at once and queues the work for one worker that does 20 a second; the queue
    holds 3, and a delivery arriving to a full queue is dropped, though answered 200."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: queue.Queue[str] = queue.Queue(maxsize=3)
        threading.Thread(target=self._work, daemon=True).start()

    def handle(self, key: str, in_flight: int) -> None:
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(key)

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            time.sleep(1 / 20)
            with self.lock:
                self.processed[key] += 1  # no dedupe: a retry is processed again
