"""A receiver that dies on one event: the crash is a finding of the delivery that caused it.

:mod:`crashing_receiver` exits (status 1, a stack trace on stderr) on a valid
``contact.created``. Unmanaged, the crash is attributed to that delivery, the receiver stays
down, every later check is *not run*, the run is not conformant and exits 1. Under
``--target-command`` hookproof restarts it after each crash, every other check gets a verdict,
and the failure shows the receiver's own stack trace. The same holds under ``-n 2`` and through
``hookproof run``; and behind a TLS-terminating proxy that answers 502/503 for the dead backend.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from broken import SECRET, SECRET_ENV
from crashing_receiver import CRASHING_EVENT
from receivers import unused_port

HERE = Path(__file__).parent
EVENTS = ("message.created", CRASHING_EVENT)
QUICK = ("--target-wait", "1")
NO_FUZZ = ("--fuzz-examples", "0")


def receiver_command(port: int, db: Path) -> list[str]:
    return [sys.executable, str(HERE / "crashing_receiver.py"), str(port), str(db)]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPROOF_")}
    env[SECRET_ENV] = SECRET
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    return env


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=0.5).connect()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def run_suite(workdir: Path, url: str, *extra: str) -> tuple[int, str, dict[str, Any]]:
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "hookproof.plugin",
               "-q", "--target-url", url, "--provider", "varda", "--secret-env", SECRET_ENV,
               "--events", ",".join(EVENTS), "--hookproof-reports", str(workdir / "reports"),
               *QUICK, *NO_FUZZ, *extra]
    done = subprocess.run(command, cwd=workdir, env=_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    report = json.loads((workdir / "reports" / "conformance.json").read_text(encoding="utf-8"))
    return done.returncode, done.stdout + done.stderr, report


def _results(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for t in report["targets"] for r in t["results"]]


def _crashes(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for t in report["targets"] for f in t["failures"] if f.get("crash")]


@pytest.fixture
def unmanaged(tmp_path: Path) -> Iterator[str]:
    port = unused_port()
    process = subprocess.Popen(receiver_command(port, tmp_path / "db.sqlite3"), env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield f"http://127.0.0.1:{port}/varda"
    finally:
        process.kill()
        process.wait()


def test_unmanaged_crash_is_attributed_and_the_rest_is_not_run(unmanaged: str,
                                                                tmp_path: Path) -> None:
    code, output, report = run_suite(tmp_path, unmanaged)
    assert code == 1, output[-3000:]
    assert report["conformant"] is False
    crashes = _crashes(report)
    assert len(crashes) == 1
    (crash,) = crashes
    assert crash["event"] == CRASHING_EVENT and crash["severity"] == "required"
    assert crash["title"] == "the receiver stopped answering (crashed or closed the connection)"
    assert "did not come back" in crash["got"] and crash["reproduction"].startswith("curl ")
    results = _results(report)
    crashed_at = next(i for i, r in enumerate(results) if r["check"] == crash["check"]
                      and r["event"] == CRASHING_EVENT)
    later = results[crashed_at + 1:]
    assert later and {r["outcome"] for r in later} == {"not_run"}
    assert all(r["outcome"] in ("pass", "fail") for r in results[:crashed_at])
    (target,) = report["targets"]
    assert target["summary"]["not_run"] == len(later)
    assert "stopped answering" in target["unavailable"][0]
    assert "Traceback" not in output


def _managed(tmp_path: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    port = unused_port()
    command = shlex.join(receiver_command(port, tmp_path / "db.sqlite3"))
    # the defaults a user gets: no raised restart limit
    return run_suite(tmp_path, f"http://127.0.0.1:{port}/varda", "--target-command", command,
                     *extra)


def _assert_managed(code: int, output: str, report: dict[str, Any], workdir: Path) -> None:
    assert code == 1, output[-3000:]
    results = _results(report)
    # every check of the events that do not crash it gets its verdict, and passes
    others = [r for r in results if r["event"] != CRASHING_EVENT]
    assert others and {r["outcome"] for r in others} <= {"pass", "not_observed", "skipped"}
    crashes = _crashes(report)
    assert crashes and {c["event"] for c in crashes} == {CRASHING_EVENT}
    # the event that crashes the receiver: two crash findings (per pytest-xdist worker), then
    # its other checks are not run, with that reason in the terminal and the report alike
    assert 1 <= len(crashes) <= 4  # two per pytest-xdist worker at most
    skipped = [r for r in results if r["outcome"] == "not_run"]
    assert skipped and {r["event"] for r in skipped} == {CRASHING_EVENT}
    for result in skipped:
        assert "this event crashes the receiver (see " in result["reason"], result
    assert "this event crashes the receiver" in output
    for crash in crashes:
        assert "KeyError: 'crm_id'" in crash["receiver_output"]
        assert "Traceback (most recent call last)" in crash["receiver_output"]
        assert crash["exit_status"].startswith("exited with status 1; restarting")
        assert "came back" in crash["got"]
    (target,) = report["targets"]
    assert target["receiver_log"] == "receiver.log"
    log = (workdir / "reports" / "receiver.log").read_text(encoding="utf-8")
    assert log.count("KeyError: 'crm_id'") >= len(crashes)
    html = (workdir / "reports" / "conformance.html").read_text(encoding="utf-8")
    assert 'class="receiver-log" href="receiver.log"' in html
    assert 'class="receiver-output"' in html and "KeyError: &#x27;crm_id&#x27;" in html
    markdown = (workdir / "reports" / "conformance.md").read_text(encoding="utf-8")
    assert "The receiver's output from this delivery on:" in markdown


def test_managed_receiver_is_restarted_and_its_stack_trace_shown(tmp_path: Path) -> None:
    code, output, report = _managed(tmp_path)
    _assert_managed(code, output, report, tmp_path)
    assert "the receiver's output from this delivery on:" in output


def test_restarts_used_up_is_the_reason_given_not_a_wait(tmp_path: Path) -> None:
    """With no restart left, the finding says so (not "did not come back within 1 s", a
    wait that could not succeed), and its hint does not tell a managed run to be managed."""
    code, output, report = _managed(tmp_path, "--target-restarts", "0", *QUICK)
    assert code == 1, output[-3000:]
    crashes = _crashes(report)
    assert crashes, output[-3000:]
    first = crashes[0]
    assert "not restarted (--target-restarts used up)" in first["got"], first["got"]
    assert "did not come back" not in first["got"]
    assert "--target-command" not in (first["hint"] or "")
    assert "not restarted (--target-restarts used up)" in output


def test_managed_receiver_under_xdist(tmp_path: Path) -> None:
    code, output, report = _managed(tmp_path, "-p", "xdist", "-n", "2")
    _assert_managed(code, output, report, tmp_path)


def _listener_for(seconds: float | None) -> tuple[str, Any]:
    """A listening socket on loopback, closed after ``seconds`` (None: kept open)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    if seconds is not None:
        threading.Timer(seconds, sock.close).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/varda", sock


def test_a_receiver_about_to_exit_is_not_back(tmp_path: Path) -> None:
    """One that still accepts for a moment after printing its crash (under pytest-xdist,
    another worker's delivery killed it) is not taken for a receiver that came back."""
    from hookproof.reach.managed import ReceiverLog

    url, sock = _listener_for(0.05)
    try:
        assert ReceiverLog(tmp_path / "receiver.log", url=url, wait=0.6).wait_back() is False
    finally:
        sock.close()
    url, sock = _listener_for(None)
    try:
        assert ReceiverLog(tmp_path / "receiver.log", url=url, wait=0.6).wait_back() is True
    finally:
        sock.close()


def test_managed_receiver_through_hookproof_run(tmp_path: Path) -> None:
    port = unused_port()
    config = tmp_path / "hookproof.yaml"
    config.write_text(json.dumps({"targets": [{
        "name": "crashy", "provider": "varda", "url": f"http://127.0.0.1:{port}/varda",
        "secret_env": SECRET_ENV,
        "command": shlex.join(receiver_command(port, tmp_path / "db.sqlite3"))}]}))
    done = subprocess.run(
        [sys.executable, "-m", "hookproof.cli", "run", "--config", str(config), "--reports",
         str(tmp_path / "reports"), "--", "--events", ",".join(EVENTS), *QUICK, *NO_FUZZ],
        cwd=tmp_path, env={k: v for k, v in _env().items()
                           if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"},
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    crashes = _crashes(report)
    assert crashes and all("KeyError: 'crm_id'" in c["receiver_output"] for c in crashes)
    # under the defaults, only the event that crashes the receiver has checks left unrun
    skipped = [r for r in _results(report) if r["outcome"] == "not_run"]
    assert {r["event"] for r in skipped} <= {CRASHING_EVENT}
    assert all("this event crashes the receiver (see " in r["reason"] for r in skipped)
    others = [r for r in _results(report) if r["event"] != CRASHING_EVENT]
    assert others and {r["outcome"] for r in others} <= {"pass", "not_observed", "skipped"}


# -- behind a TLS-terminating proxy --------------------------------------------------------------


class Proxy(ThreadingHTTPServer):
    """TLS in front, plain HTTP to the backend; a dead backend gets 502, then 503s."""

    daemon_threads = True
    backend_port = 0
    failed_once = False


class ProxyHandler(BaseHTTPRequestHandler):
    server: Proxy

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self._forward()

    def do_GET(self) -> None:
        self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", self.server.backend_port,
                                                  timeout=10)
            upstream.request(self.command, self.path, body,
                             {k: v for k, v in self.headers.items() if k.lower() != "host"})
            answer = upstream.getresponse()
            status, data, kind = answer.status, answer.read(), answer.getheader(
                "Content-Type", "application/json")
        except OSError:
            status = 503 if self.server.failed_once else 502
            self.server.failed_once = True
            data, kind = b"<html>Application Error</html>", "text/html"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def tls_proxy(unmanaged: str, tmp_path: Path) -> Iterator[str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    server = Proxy(("127.0.0.1", 0), ProxyHandler)
    server.backend_port = int(unmanaged.split(":")[2].split("/")[0])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/varda"
    finally:
        server.shutdown()


def test_behind_a_tls_proxy_the_dead_backend_is_not_graded(tls_proxy: str,
                                                           tmp_path: Path) -> None:
    """The proxy's 502/503s are recognised as "target unavailable": one crash finding, the
    rest not run, and response.within_budget never passes on an instant 503."""
    code, output, report = run_suite(tmp_path, tls_proxy, "--insecure")
    assert code == 1, output[-3000:]
    (crash,) = _crashes(report)
    assert crash["event"] == CRASHING_EVENT
    assert "from a proxy in front of the receiver" in crash["got"]
    results = _results(report)
    crashed_at = next(i for i, r in enumerate(results) if r["check"] == crash["check"]
                      and r["event"] == CRASHING_EVENT)
    assert {r["outcome"] for r in results[crashed_at + 1:]} == {"not_run"}
    budget = [r for r in results[crashed_at:] if r["check"] == "response.within_budget"]
    assert budget and all(r["outcome"] != "pass" for r in budget)


def test_fuzzing_stops_at_a_crash_and_shows_the_payload_sent(tmp_path: Path) -> None:
    """A generated payload that kills the receiver is reported as sent (not shrunk against
    a dead receiver), with the receiver's stack trace."""
    port = unused_port()
    command = shlex.join(receiver_command(port, tmp_path / "db.sqlite3"))
    code, _output, report = run_suite(
        tmp_path, f"http://127.0.0.1:{port}/varda", "--target-command", command,
        "-k", "generated_accepted", "--fuzz-examples", "4", "--target-restarts", "5")
    (crash,) = [f for f in _crashes(report) if f["check"] == "fuzz.generated_accepted"]
    assert crash["event"] == CRASHING_EVENT
    (sent,) = [d for d in crash["details"] if d["title"] == "payload sent"]
    assert CRASHING_EVENT in sent["got"]
    assert "KeyError: 'crm_id'" in crash["receiver_output"]
    assert code == 1
