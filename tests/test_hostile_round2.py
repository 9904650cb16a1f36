"""Hostile targets and inputs, round 2: every run ends promptly, only what a platform sends is
sent, every input is bounded, and what a target writes cannot spoof the terminal.

The servers are sockets on 127.0.0.1, each bounded in time; every command runs in a
subprocess with a timeout, as a user runs it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.examples import canonical_example
from hookproof.reach.builder import DeliveryBuilder
from hookproof.transport.client import DeliveryClient
from receivers import _read_request

SECRET_ENV = "HOSTILE_SECRET"
SECRET = "hostile-secret-value-1"
LIFETIME = 60.0


class Server:
    """Accepts connections on 127.0.0.1 for at most :data:`LIFETIME` seconds; each request
    goes to ``behaviour(conn, request)``, which records it and answers as it likes."""

    def __init__(self, behaviour: Callable[[socket.socket, bytes], None]) -> None:
        self.behaviour = behaviour
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/varda"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        deadline = time.monotonic() + LIFETIME
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                while not self.stopped.is_set():
                    request = _read_request(conn)
                    if not request:
                        return
                    self.requests.append(request)
                    self.behaviour(conn, request)
            except OSError:
                pass

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def server_factory() -> Iterator[Callable[[Callable[[socket.socket, bytes], None]], Server]]:
    made: list[Server] = []

    def make(behaviour: Callable[[socket.socket, bytes], None]) -> Server:
        made.append(Server(behaviour))
        return made[-1]

    yield make
    for server in made:
        server.close()


def _send(url: str, *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str],
                                                              float]:
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "hookproof.cli", "send", "message.created",
                          "--provider", "varda", "--target-url", url, "--secret-env",
                          SECRET_ENV, *args], env=dict(os.environ, **{SECRET_ENV: SECRET}),
                         capture_output=True, text=True, timeout=timeout, check=False)
    return run, time.monotonic() - started


def _endless_continue(conn: socket.socket, request: bytes) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 50)


def _trickle(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(45):
        conn.sendall(b"x")
        time.sleep(1)


@pytest.mark.parametrize("behaviour", [_endless_continue, _trickle],
                         ids=["endless-100-continue", "trickling-body"])
def test_the_process_exits_promptly_after_the_verdict(
        behaviour: Callable[[socket.socket, bytes], None],
        server_factory: Callable[..., Server]) -> None:
    server = server_factory(behaviour)
    run, took = _send(server.url)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    # Varda's budget (10 s) plus 2 s of grace, plus start-up: never the target's 45 s
    assert took < 25, (took, run.stdout[-800:])


def _cookies(conn: socket.socket, request: bytes) -> None:
    cookies = "".join(f"Set-Cookie: c{i}={'v' * 3000}; Path=/\r\n" for i in range(20))
    conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + cookies
                  + "Content-Length: 2\r\n\r\n{}").encode())


def test_no_cookie_or_other_state_from_answers_reaches_a_later_delivery(
        server_factory: Callable[..., Server], monkeypatch: pytest.MonkeyPatch) -> None:
    server = server_factory(_cookies)
    provider = load_catalogue().provider("varda")
    builder = DeliveryBuilder(provider, target_url=server.url, secret=SECRET)
    client = DeliveryClient(timeout=5)
    event = provider.event("message.created")
    payload = canonical_example("varda", event.name).payload
    sent = []
    try:
        for _ in range(3):
            delivery = builder.build(event, payload)
            sent.append(delivery.request)
            assert client.send(delivery.request).status == 200
    finally:
        client.close()
    assert len(server.requests) == 3
    for request, raw in zip(sent, server.requests, strict=True):
        head = raw.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
        names = {line.partition(":")[0].lower() for line in head}
        assert "cookie" not in names
        # exactly what the platform's delivery holds, and the transport's own framing
        assert names == {k.lower() for k in request.headers} | {
            "host", "content-length", "accept", "accept-encoding", "connection"}, names


def _spoofing(conn: socket.socket, request: bytes) -> None:
    body = b'{"error": "\x1b]0;pwned\x07\x1b[2J\x1b[1A\rPASSED everything"}'
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                 b"X-Note: \x1b[31mred\x1b[0m\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)


def test_control_characters_from_a_target_are_escaped_in_the_terminal_and_reports(
        server_factory: Callable[..., Server], tmp_path: Path) -> None:
    server = server_factory(_spoofing)
    env = dict(os.environ, **{SECRET_ENV: SECRET}, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "hookproof.plugin", "-q",
                          "-p", "no:cacheprovider", "--target-url", server.url, "--provider",
                          "varda", "--secret-env", SECRET_ENV, "--fuzz-examples", "0",
                          "--events", "message.created", "--hookproof-reports",
                          str(tmp_path), "--junitxml", str(tmp_path / "junit.xml")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 1, run.stdout[-2000:]
    for name, text in [("terminal", run.stdout + run.stderr),
                       *((p.name, p.read_text(errors="replace")) for p in
                         (tmp_path / "conformance.md", tmp_path / "conformance.html",
                          tmp_path / "conformance.json", tmp_path / "junit.xml"))]:
        assert "\x1b" not in text and "\x07" not in text, name
    assert "\\x1b]0;pwned" in run.stdout  # shown, escaped


def _huge_number(conn: socket.socket, request: bytes) -> None:
    body = b'{"friendlyName": ' + b"9" * 900_000 + b"}"
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_a_json_number_of_any_size_is_json_judged_by_the_contract(
        server_factory: Callable[..., Server]) -> None:
    server = server_factory(_huge_number)
    url = server.url.replace("/varda", "/twilio-conversations")
    run = subprocess.run([sys.executable, "-m", "hookproof.cli", "send", "onConversationAdd",
                          "--provider", "twilio-conversations", "--target-url", url,
                          "--secret-env", SECRET_ENV],
                         env=dict(os.environ, **{SECRET_ENV: SECRET}), capture_output=True,
                         text=True, timeout=60, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-2000:]
    assert "not JSON" not in out and "friendlyName" in out, out[-2000:]


def test_validate_with_nothing_validated_is_unusable_input(tmp_path: Path) -> None:
    har = tmp_path / "broken.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": "nonsense"}, {"oops": 1}]}}))
    run = subprocess.run([sys.executable, "-m", "hookproof.cli", "validate", "--provider",
                          "varda", str(har)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_a_backtracking_pattern_cannot_stall_validation(tmp_path: Path) -> None:
    folder = tmp_path / "contracts" / "evil"
    (folder / "events").mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        "id: evil\ntitle: Evil\ntransport: {encoding: json, content_type: application/json}\n"
        "signature: {scheme: hmac, header: X-Evil-Signature}\ndedupe_header: X-Evil-Id\n"
        "replay_window: null\ntimeout_budget: 10\nevent_name: {fields: [type]}\n"
        "events:\n  - {name: thing, kind: post, request: events/thing.json}\n")
    (folder / "events" / "thing.json").write_text(json.dumps({
        "type": "object", "required": ["type", "name"],
        "properties": {"type": {"const": "thing"},
                       "name": {"type": "string", "pattern": "^(a+)+$"}},
        "examples": [{"type": "thing", "name": "aaa"}]}))
    payload = tmp_path / "thing.json"
    payload.write_text(json.dumps({"type": "thing", "name": "a" * 45 + "!"}))
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "hookproof.cli", "--contracts",
                          str(tmp_path / "contracts"), "validate", "--provider", "evil",
                          str(payload)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "$.name" in run.stdout
    assert time.monotonic() - started < 20
    listed = subprocess.run([sys.executable, "-m", "hookproof.cli", "--contracts",
                             str(tmp_path / "contracts"), "list", "--provider", "evil"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert "backtrack" in listed.stdout and "^(a+)+$" in listed.stdout, listed.stdout


def test_a_daemonizing_command_is_ready_by_its_port_and_every_process_is_stopped(
        tmp_path: Path) -> None:
    from receivers import unused_port

    port = unused_port()
    pidfile = tmp_path / "pids"
    command = f"{sys.executable} {Path(__file__).parent / 'daemon_receiver.py'} {port} {pidfile}"
    env = dict(os.environ, **{SECRET_ENV: SECRET}, HOOKPROOF_SECRET=SECRET,
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "hookproof.plugin", "-q",
                          "-p", "no:cacheprovider", "--target-url",
                          f"http://127.0.0.1:{port}/varda", "--provider", "varda",
                          "--secret-env", SECRET_ENV, "--fuzz-examples", "0", "--events",
                          "message.created", "--target-command", command,
                          "--hookproof-reports", str(tmp_path / "reports")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    pids = [int(p) for p in pidfile.read_text().split()]
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        time.sleep(0.1)
    assert alive == [], "processes the receiver started outlived the run"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_receiver_log_is_capped_and_scrubbed_as_a_stream(tmp_path: Path) -> None:
    from hookproof.reach.managed import LOG_LIMIT, CappedLog, scrub_file
    from hookproof.scrub import register

    register(SECRET)
    path = tmp_path / "receiver.log"
    log = CappedLog(path)
    log.write(b"started\n")
    line = f"request with {SECRET} in it\n".encode() * 1000
    for _ in range(3 * LOG_LIMIT // len(line)):  # 48 MiB written
        log.write(line)
    log.write(b"Traceback (most recent call last):\nKeyError: 'crm_id'\n")
    log.close()
    assert path.stat().st_size <= LOG_LIMIT
    scrub_file(path)
    text = path.read_text()
    assert text.startswith("started\n") and text.endswith("KeyError: 'crm_id'\n")
    assert "bytes of the receiver's output left out here" in text
    assert SECRET not in text and "[secret]" in text


MEMORY_LIMIT = 1 << 30
"""Address space a bounded command may use: far less than a 600 MB file read whole needs."""


def _bounded(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``hookproof ARGS`` under a 1 GiB address-space limit and a 60 s timeout."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run([sys.executable, "-m", "hookproof.cli", *args],
                          env=dict(os.environ, **(env or {})), preexec_fn=limit,
                          capture_output=True, text=True, timeout=60, check=False)


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk (a hole): its size is what is judged."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.mark.parametrize(("command", "name"), [
    (("validate", "--provider", "varda"), "capture.har"),
    (("validate", "--provider", "varda"), "payload.json"),
    (("replay", "--provider", "varda", "--target-url", "http://127.0.0.1:9/varda",
      "--secret-env", SECRET_ENV), "capture.har"),
])
def test_an_input_file_over_its_size_limit_is_refused_in_bounded_memory(
        command: tuple[str, ...], name: str, tmp_path: Path) -> None:
    huge = _sparse(tmp_path / name, 300 * 1024 * 1024)
    run = _bounded(*command, str(huge), env={SECRET_ENV: SECRET})
    assert run.returncode == 2, run.stdout + run.stderr
    assert "over the 64 MiB" in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert "MemoryError" not in run.stderr


def test_an_oversized_contract_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from test_own_provider import write_providers

    root = write_providers(tmp_path / "contracts")
    schema = next((root / "forge" / "events").glob("*.json"))
    _sparse(schema, 600 * 1024 * 1024)
    for args in (("list",), ("validate", "--provider", "forge", str(schema))):
        run = _bounded("--contracts", str(root), *args)
        assert run.returncode == 2, run.stdout + run.stderr
        assert f"{schema.name}: 629,145,600 bytes, over the" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr
