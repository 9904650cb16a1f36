"""Hostile targets: every run ends by itself, with a valid report, no traceback, and the cause.

Each target is a tiny socket-level server on 127.0.0.1 (bounded in requests and time) that
misbehaves one way: closes, resets, trickles, never ends its body, answers 50 MB, redirects in
a loop, speaks HTTP/1.0, speaks TLS with a self-signed certificate, dies after N requests, says
200 or 500 to everything, or answers a pre-event hook with text, HTML, broken UTF-8, 10 MB or
JSON nested 100,000 deep. The real suite runs against each in a subprocess, as a user runs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hookproof.reports.document import schema

SECRET_ENV = "HOSTILE_SECRET"
CLIENT_TIMEOUT = 0.6
"""The client's deadline in these runs (a conftest shortens the platform's budget + 2 s)."""
RUN_TIMEOUT = 90

Behaviour = Callable[[socket.socket, bytes, int], None]


class HostileServer:
    """Accepts connections on 127.0.0.1, reads each request head, then behaves."""

    def __init__(self, behaviour: Behaviour, *, tls: ssl.SSLContext | None = None,
                 stop_after: int | None = None) -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.tls = tls
        self.stop_after = stop_after
        self.count = 0
        self.lock = threading.Lock()
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/varda") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not self.closed.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.count += 1
                number = self.count
            if self.stop_after is not None and number > self.stop_after:
                conn.close()
                self.close()  # dies: from now on connections are refused
                return
            threading.Thread(target=self._handle, args=(conn, number), daemon=True).start()

    def _handle(self, conn: socket.socket, number: int) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                head += chunk
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            self.behaviour(conn, head + body, number)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.close()


def answer(status: str, body: bytes = b"", content_type: str = "application/json",
           version: str = "HTTP/1.1") -> Behaviour:
    def behave(conn: socket.socket, request: bytes, number: int) -> None:
        conn.sendall(f"{version} {status}\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                     + body)
    return behave


def close_at_once(conn: socket.socket, request: bytes, number: int) -> None:
    return None


def reset_mid_body(conn: socket.socket, request: bytes, number: int) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial\":")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def trickle(conn: socket.socket, request: bytes, number: int) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
        conn.sendall(bytes([byte]))
        time.sleep(0.1)


def headers_without_body(conn: socket.socket, request: bytes, number: int) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    time.sleep(CLIENT_TIMEOUT * 3)


def endless_chunks(conn: socket.socket, request: bytes, number: int) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Type: application/json\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        conn.sendall(chunk)


def huge(size: int) -> Behaviour:
    def behave(conn: socket.socket, request: bytes, number: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
        block = b" " * 65536
        sent = 0
        while sent < size:
            conn.sendall(block[: size - sent])
            sent += len(block)
    return behave


def redirect_loop(conn: socket.socket, request: bytes, number: int) -> None:
    path = request.split(b" ", 2)[1].decode()
    conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n".encode())


def garbage(conn: socket.socket, request: bytes, number: int) -> None:
    conn.sendall(b"\x00\xff garbage \x01\r\n\r\n")


# -- running the suite ------------------------------------------------------------------------


def run(workdir: Path, url: str, provider: str, events: str, *extra: str,
        secret: str = "hostile-secret-value-0451") -> tuple[int, str, dict[str, Any]]:
    workdir.mkdir(parents=True, exist_ok=True)
    # The client waits the platform's budget + 2 s (7 s at least): the runs here shorten it.
    (workdir / "conftest.py").write_text(
        "import hookproof.reach.target\n"
        f"hookproof.reach.target.Target._timeout = lambda self, delivery: {CLIENT_TIMEOUT}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPROOF_")}
    env.update({SECRET_ENV: secret, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "hookproof.plugin",
               "-q", "--target-url", url, "--provider", provider, "--secret-env", SECRET_ENV,
               "--events", events, "--hookproof-reports", "reports", "--fuzz-examples", "0",
               "--target-wait", "0.5", *extra]
    started = time.monotonic()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, check=False)
    assert time.monotonic() - started < RUN_TIMEOUT
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "INTERNALERROR" not in output, output[-3000:]
    report = json.loads((workdir / "reports" / "conformance.json").read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(schema()).iter_errors(report), key=str)
    assert not errors, errors[0]
    return done.returncode, output, report


def target(report: dict[str, Any]) -> dict[str, Any]:
    (only,) = report["targets"]
    return only


def outcomes(report: dict[str, Any]) -> list[str]:
    return [r["outcome"] for r in target(report)["results"]]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Callable[..., HostileServer]]:
    made: list[HostileServer] = []

    def make(behaviour: Behaviour, **kwargs: Any) -> HostileServer:
        made.append(HostileServer(behaviour, **kwargs))
        return made[-1]

    yield make
    for hostile in made:
        hostile.close()


# -- targets that cannot be tested: one line, everything not run, exit 2 ------------------------


@pytest.mark.parametrize(("behaviour", "said"), [
    (garbage, "the answer is not HTTP"),
    (redirect_loop, "redirected (302 to /varda)"),
], ids=["garbage", "redirect-loop"])
def test_untestable_targets(server: Callable[..., HostileServer], tmp_path: Path,
                            behaviour: Behaviour, said: str) -> None:
    hostile = server(behaviour)
    code, output, report = run(tmp_path, hostile.url(), "varda", "message.created")
    assert code == 2, output[-2000:]
    assert set(outcomes(report)) == {"not_run"}
    assert said in target(report)["unavailable"][0]
    assert report["conformant"] is False


# -- the receiver stopped answering: a crash finding, then not run -----------------------------


@pytest.mark.parametrize("behaviour", [close_at_once, reset_mid_body],
                         ids=["close-without-answer", "reset-mid-body"])
def test_dropped_connections_are_crash_findings(server: Callable[..., HostileServer],
                                                tmp_path: Path, behaviour: Behaviour) -> None:
    hostile = server(behaviour)
    code, output, report = run(tmp_path, hostile.url(), "varda", "message.created")
    assert code == 1, output[-2000:]
    (crash,) = [f for f in target(report)["failures"] if f.get("crash")]
    first = target(report)["results"][0]
    assert (crash["check"], crash["event"]) == (first["check"], first["event"])
    assert "stopped answering" in crash["title"]


def test_crash_after_n_requests(server: Callable[..., HostileServer], tmp_path: Path) -> None:
    hostile = server(answer("200 OK", b"{}"), stop_after=3)
    code, output, report = run(tmp_path, hostile.url(), "varda", "message.created")
    assert code == 1, output[-2000:]
    results = target(report)["results"]
    (crash,) = [f for f in target(report)["failures"] if f.get("crash")]
    assert "did not come back" in crash["got"]
    crashed_at = next(i for i, r in enumerate(results)
                      if (r["check"], r["event"]) == (crash["check"], crash["event"]))
    assert {r["outcome"] for r in results[crashed_at + 1:]} == {"not_run"}


@pytest.mark.parametrize("behaviour", [trickle, headers_without_body, endless_chunks],
                         ids=["trickle", "headers-without-body", "endless-slow-body"])
def test_slow_or_endless_answers_end_in_bounded_time(server: Callable[..., HostileServer],
                                                     tmp_path: Path,
                                                     behaviour: Behaviour) -> None:
    hostile = server(behaviour)
    started = time.monotonic()
    code, output, report = run(tmp_path, hostile.url(), "varda", "message.created")
    assert time.monotonic() - started < 60
    assert code == 1, output[-2000:]
    if behaviour is endless_chunks:
        # its first megabyte is read and the rest discarded: judged as an answer
        assert "pass" in outcomes(report)
    else:
        assert "not_run" in outcomes(report)
        assert "failed 3 deliveries in a row" in target(report)["unavailable"][0]


def test_http_1_0_is_an_ordinary_answer(server: Callable[..., HostileServer],
                                        tmp_path: Path) -> None:
    hostile = server(answer("200 OK", b"{}", version="HTTP/1.0"))
    code, _output, report = run(tmp_path, hostile.url(), "varda", "message.created")
    assert code == 1  # it accepts forgeries, as a 200 to everything does
    assert "not_run" not in outcomes(report)
    assert {"signature.valid_accepted", "payload.minimal_accepted"} <= {
        r["check"] for r in target(report)["results"] if r["outcome"] == "pass"}


@pytest.mark.parametrize(("status", "failing"), [
    ("200 OK", "signature.missing_rejected"),
    ("500 Internal Server Error", "signature.valid_accepted"),
], ids=["200-to-everything", "500-to-everything"])
def test_one_answer_to_everything_is_graded(server: Callable[..., HostileServer], tmp_path: Path,
                                            status: str, failing: str) -> None:
    hostile = server(answer(status, b'{"ok": true}'))
    code, _output, report = run(tmp_path, hostile.url(), "varda", "message.created")
    assert code == 1
    assert failing in {f["check"] for f in target(report)["failures"]}
    assert "not_run" not in outcomes(report)


def test_a_50_mb_answer_is_read_up_to_the_cap(server: Callable[..., HostileServer],
                                              tmp_path: Path) -> None:
    hostile = server(huge(50 * 1024 * 1024))
    code, _output, report = run(tmp_path, hostile.url(), "varda", "message.created")
    failures = target(report)["failures"]
    assert "not_run" not in outcomes(report)
    assert failures and all(len(f["response"]["body_head"] or "") < 2000 for f in failures)
    assert code == 1


# -- TLS -----------------------------------------------------------------------------------------


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


@pytest.mark.parametrize("how", ["verify", "insecure", "ca-bundle", "missing-ca-bundle"])
def test_self_signed_tls(server: Callable[..., HostileServer], tmp_path: Path,
                         self_signed: tuple[ssl.SSLContext, Path], how: str) -> None:
    context, cert = self_signed
    hostile = server(answer("200 OK", b"{}"), tls=context)
    extra = {"verify": (), "insecure": ("--insecure",), "ca-bundle": ("--ca-bundle", str(cert)),
             "missing-ca-bundle": ("--ca-bundle", str(tmp_path / "nope.pem"))}[how]
    if how == "missing-ca-bundle":
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPROOF_")}
        env[SECRET_ENV] = "x"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--target-url",
             hostile.url(), "--provider", "varda", "--secret-env", SECRET_ENV, *extra],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
            check=False)
        assert done.returncode == 4
        assert "--ca-bundle" in done.stderr and "not a readable file" in done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        return
    code, _output, report = run(tmp_path, hostile.url(), "varda", "message.created", *extra)
    if how == "verify":
        assert code == 2
        assert "TLS failure" in target(report)["unavailable"][0]
    else:
        assert code == 1  # answered: graded (it accepts forgeries)
        assert "pass" in outcomes(report)


# -- pre-event answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "kind", "title"), [
    (b"OK", "text/plain", "the hook's answer is not JSON"),
    (b"<html><body>Error</body></html>", "text/html", "the hook's answer is not JSON"),
    (b"\xff\xfe{\x00", "application/json", "the hook's answer is not JSON"),
    (b"{" + b'"a":' * 0 + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json",
     "the hook's answer is not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", "the hook's answer is nested too deeply"),
    (b" " * (10 * 1024 * 1024), "application/json",
     "the hook's answer is longer than hookproof reads"),
], ids=["text", "html", "invalid-utf8", "broken-deep", "deeply-nested", "10-mb"])
def test_hostile_prehook_answers(server: Callable[..., HostileServer], tmp_path: Path,
                                 body: bytes, kind: str, title: str) -> None:
    hostile = server(answer("200 OK", body, content_type=kind))
    _code, _output, report = run(tmp_path, hostile.url("/hooks"), "twilio-conversations",
                               "onMessageAdd", "-k", "prehook_shape")
    (failure,) = [f for f in target(report)["failures"]
                  if f["check"] == "response.prehook_shape"]
    assert failure["title"] == title
    assert failure["event"] == "onMessageAdd"
    assert len(json.dumps(failure)) < 20_000


# -- secrets -------------------------------------------------------------------------------------


def test_an_echoed_secret_appears_nowhere(server: Callable[..., HostileServer],
                                          tmp_path: Path) -> None:
    """A receiver that echoes the secret in every form into a header and a 500 body: it is in
    no report, no JUnit file and not in the terminal, and neither is a start of it at a cut."""
    import base64
    from urllib.parse import quote

    secret = "s3cr3t+/value=with spaces&more"
    forms = [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(),
             secret.encode().hex(), json.dumps(secret)[1:-1]]

    def echo(conn: socket.socket, request: bytes, number: int) -> None:
        body = (" ".join(forms) + " " * 560 + secret).encode()[:620]
        conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                     b"X-Debug: " + forms[0].encode() + b"\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % len(body) + body)

    hostile = server(echo)
    code, output, _ = run(tmp_path, hostile.url(), "varda", "message.created",
                          "--junitxml", "junit.xml", secret=secret)
    assert code == 1
    written = [output] + [p.read_text(encoding="utf-8", errors="replace")
                          for p in [tmp_path / "junit.xml", *(tmp_path / "reports").iterdir()]
                          if p.is_file()]
    for text in written:
        for form in forms:
            assert form not in text
            assert form[:12] not in text
    assert "[secret]" in "".join(written)


def test_an_effects_probe_answering_deep_json(server: Callable[..., HostileServer],
                                              tmp_path: Path) -> None:
    deep = ("[" * 30_000 + "]" * 30_000).encode()  # under the 64 KiB read of a probe

    def behave(conn: socket.socket, request: bytes, number: int) -> None:
        body = deep if request.startswith(b"GET") else b"{}"
        answer("200 OK", body)(conn, request, number)

    hostile = server(behave)
    code, output, report = run(tmp_path, hostile.url(), "varda", "message.created",
                               "-k", "idempotency", "--effects-url", hostile.url("/effects"))
    results = target(report)["results"]
    assert results and {r["outcome"] for r in results} == {"not_run"}
    assert all("nested too deeply" in r["reason"] for r in results), results
    assert code == 2, output[-2000:]
