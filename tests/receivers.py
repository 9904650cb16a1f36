"""Run an ASGI receiver on 127.0.0.1 in a background thread, for tests that use real HTTP."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

import uvicorn
from _pytest.monkeypatch import MonkeyPatch
from starlette.types import ASGIApp

STARTUP_TIMEOUT = 10.0


def run_in_thread(app: ASGIApp) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` with uvicorn on an ephemeral loopback port in a daemon thread.

    Returns ``(base_url, stop)``; ``base_url`` is ``http://127.0.0.1:<port>`` and the server is
    already accepting connections. ``stop()`` shuts it down and waits for the thread.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"receiver-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the receiver did not start")
        time.sleep(0.005)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()

    return f"http://127.0.0.1:{port}", stop


def _read_request(conn: socket.socket) -> bytes:
    """The whole request (headers and a Content-Length body), which may arrive in several
    segments: closing with part of it unread would reset the connection instead of closing
    it, and the client would see another failure than the one a test means."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
        if not data[:1].isalpha():  # not HTTP (a TLS handshake, say): no more to wait for
            return data
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return data


class RawServer:
    """A TCP server on 127.0.0.1 that reads a request, writes ``answer`` raw (garbage is
    fine; None writes nothing) and closes: targets no HTTP server would be."""

    def __init__(self, answer: bytes | None, path: str = "/varda") -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                _read_request(conn)
                if self.answer is not None:
                    conn.sendall(self.answer)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def unused_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_hookproof_environment(monkeypatch: MonkeyPatch, secret: str) -> None:
    """No HOOKPROOF_* setting of the developer's shell leaks into a run; ``secret`` is set."""
    for name in list(os.environ):
        if name.startswith("HOOKPROOF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOOKPROOF_SECRET", secret)


def wait_until_answers(url: str, timeout: float = 20.0) -> None:
    """Return once ``url`` gives any HTTP answer (a server just started), or after
    ``timeout`` seconds (the caller's next request then says what is wrong)."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)

