"""A target that cannot be tested is said so in one clear line, no traceback, and a report.

Every check it could not run is recorded as *not run* (never a pass) in conformance.json with
the reason; a target that could not be tested at all exits 2, one that hangs after answering
some deliveries 1.

Each run is a real ``pytest --target-url URL --provider NAME`` in a subprocess, against a tiny
misbehaving server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from receivers import RawServer, clean_hookproof_environment, unused_port

pytest_plugins = ["pytester"]

SECRET = "bad-targets-secret"
QUIET = ("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")
# The whole bundled varda suite: 100+ cases, of which only the first few may run.
SUITE_SIZE_AT_LEAST = 100
CLIENT_TIMEOUT = 0.3


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_hookproof_environment(monkeypatch, SECRET)
    # No fuzzing (it imports schemathesis, seconds per run): the other checks come first.
    # Harmless where the option does not exist.
    monkeypatch.setenv("HOOKPROOF_FUZZ_EXAMPLES", "0")


def run_suite(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*QUIET, "--target-url", url, "--provider", "varda",
                                         "--hookproof-reports", "out", *args, timeout=60)


def stop_line(result: pytest.RunResult, *fragments: str, code: int = 2) -> str:
    """The run ended (exit ``code``) with exactly one line naming the cause, no traceback."""
    text = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == code, text
    assert "Traceback" not in text
    assert "requests.exceptions" not in text and "urllib3" not in text
    lines = [line for line in text.splitlines() if "hookproof: target" in line]
    assert len(lines) == 1, text
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def count_run(result: pytest.RunResult) -> int:
    """How many tests ran (passed, failed, skipped...), from the final summary line."""
    summary = result.stdout.lines[-1] if result.stdout.lines else ""
    counts = re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)", summary)
    return sum(int(n) for n, _ in counts)


def assert_stopped_early(result: pytest.RunResult, *, graded: int = 0) -> None:
    """At most ``graded`` checks got a verdict; every other one is recorded as not run, with
    the reason, in a report that says the target is not conformant."""
    collected = re.search(r"collected (\d+) items", result.stdout.str())
    assert collected and int(collected.group(1)) >= SUITE_SIZE_AT_LEAST
    # pytester runs in its own directory, where --hookproof-reports out puts the report
    report = json.loads((Path("out") / "conformance.json").read_text(encoding="utf-8"))
    assert report["conformant"] is False
    (target,) = report["targets"]
    outcomes = [r["outcome"] for r in target["results"]]
    assert len(outcomes) >= SUITE_SIZE_AT_LEAST
    assert sum(o in ("pass", "fail") for o in outcomes) <= graded
    assert outcomes.count("not_run") >= len(outcomes) - graded
    assert target["unavailable"]


# -- tiny misbehaving servers ---------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    sleep = 0.0
    status = 200
    location: str | None = None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.sleep)
        try:
            self.send_response(self.status)
            if self.location:
                self.send_header("Location", self.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the client gave up first

    def log_message(self, format: str, *args: Any) -> None:
        pass


def http_server(**behaviour: Any) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (Handler,), behaviour))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/varda"


@pytest.fixture
def garbage_server() -> Iterator[RawServer]:
    server = RawServer(b"\x00\xff\xfe\x13 this is not HTTP \x7f\r\n\r\n")
    yield server
    server.close()


@pytest.fixture
def plain_server() -> Iterator[RawServer]:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    yield server
    server.close()


# -- the cases ---------------------------------------------------------------------------------


def test_target_down(pytester: pytest.Pytester) -> None:
    url = f"http://127.0.0.1:{unused_port()}/varda"
    result = run_suite(pytester, url)
    stop_line(result, f"target {url} cannot be tested", "connection refused")
    assert_stopped_early(result)


def test_slow_target(pytester: pytest.Pytester) -> None:
    # The client waits the platform's budget + 2 s (7 s at least): far too long for a test,
    # and --hookproof-budget only tightens the grading, not the wait. A conftest shortens
    # the wait of this subprocess run only.
    pytester.makeconftest(f"""
        import hookproof.reach.target

        hookproof.reach.target.Target._timeout = lambda self, delivery: {CLIENT_TIMEOUT}
    """)
    server, url = http_server(sleep=CLIENT_TIMEOUT * 4)
    try:
        started = time.monotonic()
        result = run_suite(pytester, url)
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    stop_line(result, f"target {url} failed 3 deliveries in a row",
              f"no complete answer within {CLIENT_TIMEOUT:g} s", "not run", code=1)
    assert_stopped_early(result, graded=3)
    assert took < 20


def test_garbage_answers(pytester: pytest.Pytester, garbage_server: RawServer) -> None:
    result = run_suite(pytester, garbage_server.url)
    stop_line(result, "cannot be tested", "the answer is not HTTP")
    assert_stopped_early(result)


def test_https_to_a_plain_http_server(pytester: pytest.Pytester,
                                      plain_server: RawServer) -> None:
    url = plain_server.url.replace("http://", "https://")
    result = run_suite(pytester, url)
    stop_line(result, f"target {url} cannot be tested", "TLS", "--ca-bundle", "--insecure")
    assert_stopped_early(result)


def test_redirecting_target(pytester: pytest.Pytester) -> None:
    server, url = http_server(status=301, location="https://hooks.example.com/new-home")
    try:
        result = run_suite(pytester, url)
    finally:
        server.shutdown()
        server.server_close()
    stop_line(result, "redirected (301 to https://hooks.example.com/new-home)",
              "platforms do not follow redirects")
    assert_stopped_early(result)


def test_unresolvable_host(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "http://hookproof-no-such-host.invalid/varda")
    stop_line(result, "cannot be tested", "host name does not resolve")
    assert_stopped_early(result)


def test_target_down_under_xdist(pytester: pytest.Pytester) -> None:
    """Under -n 2 the reason survives to the report (no "worker crashed"), exit 2."""
    url = f"http://127.0.0.1:{unused_port()}/varda"
    result = run_suite(pytester, url, "-p", "xdist", "-n", "2")
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, text
    assert "worker" not in text.lower() or "crashed" not in text.lower()
    assert "KeyboardInterrupt" not in text and "Traceback" not in text
    report = json.loads((Path("out") / "conformance.json").read_text(encoding="utf-8"))
    (target,) = report["targets"]
    assert {r["outcome"] for r in target["results"]} == {"not_run"}
    assert any("connection refused" in reason for reason in target["unavailable"])
