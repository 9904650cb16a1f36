"""``hookproof load``: the reference receiver holds a load, two broken ones are caught.

Every run is ``hookproof load`` in its own process (Locust patches a process with gevent),
against real HTTP servers on 127.0.0.1, at rates small enough for CI: 50 deliveries a second
for a few seconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from load_receivers import LosesUnderLoad, SlowsUnderConcurrency
from test_report_html import CHROMIUM_FLAGS, chromium

SECRET = "load-test-secret-5e1a"
SECRET_ENV = "HOOKPROOF_LOAD_TEST_SECRET"
SCHEMA = json.loads(resources.files("hookproof.reports").joinpath("load.schema.json").read_text())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def reference() -> Iterator[str]:
    """The reference receiver, its own process (a new database); yields its base URL."""
    port = _free_port()
    env = dict(os.environ, HOOKPROOF_SECRET=SECRET)
    server = subprocess.Popen([sys.executable, "-m", "hookproof.cli", "serve", "--port",
                               str(port), "--log-level", "warning"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.1)
    yield base
    server.terminate()
    server.wait(10)


def _load(args: list[str], reports: Path, *, timeout: float = 120
          ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    env = dict(os.environ, **{SECRET_ENV: SECRET})
    completed = subprocess.run(
        [sys.executable, "-m", "hookproof.cli", "load", "--secret-env", SECRET_ENV,
         "--reports", str(reports), *args], env=env, capture_output=True, text=True,
        timeout=timeout, check=False)
    report_file = reports / "load.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else None
    if report is not None:
        Draft202012Validator(SCHEMA).validate(report)
    return completed, report


def _reference_args(base: str, provider: str = "varda") -> list[str]:
    return ["--provider", provider, "--target-url", f"{base}/{provider}",
            "--effects-url", f"{base}/{provider}/effects"]


@pytest.fixture(scope="module")
def reference_run(reference: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    reports = tmp_path_factory.mktemp("load-reference")
    completed, report = _load([*_reference_args(reference), "--rate", "50", "--duration",
                               "3", "--duplicates", "0.2"], reports)
    assert report is not None, completed.stdout + completed.stderr
    return completed, report, reports


def test_the_reference_receiver_holds_50_per_second(
        reference_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]) -> None:
    completed, report, _ = reference_run
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert report["ok"] and report["exactly_once_observed"]
    assert report["deliveries"] >= 100 and report["workers"] == 0
    retries = sum(e["retries"] for e in report["events"])
    assert retries > 0  # some deliveries were sent again, and still processed once
    for row in report["events"]:
        once = row["exactly_once"]
        assert row["errors"] == 0 and row["latency_ok"]
        assert once["acknowledged"] == once["once"] > 0, row
        assert once["lost"] == once["duplicated"] == 0
    assert "the receiver holds the load" in completed.stdout
    assert SECRET not in completed.stdout + completed.stderr
    for name in ("load.json", "load.md", "load.html"):
        assert SECRET not in (reference_run[2] / name).read_text()


def test_a_receiver_that_slows_under_concurrency_is_caught(tmp_path: Path) -> None:
    """Alone it answers at once; at 50/s each answer waits for the others: p95 past the 5 s
    budget of Twilio Conversations."""
    with SlowsUnderConcurrency() as receiver:
        completed, report = _load(
            ["--provider", "twilio-conversations", "--events", "onMessageAdded",
             "--target-url", f"{receiver.base}/hooks", "--effects-url",
             f"{receiver.base}/effects", "--rate", "50", "--duration", "3"], tmp_path)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert report is not None
    [row] = report["events"]
    assert row["p95_s"] > 5 and row["latency_ok"] is False
    assert any("past the 5 s budget" in p for p in report["problems"])
    assert "does NOT hold the load" in completed.stdout


def test_a_receiver_that_loses_deliveries_under_load_is_caught(tmp_path: Path) -> None:
    """Every answer is 200 and fast, but some work is dropped and retries are processed
    again: the reconciliation finds both."""
    with LosesUnderLoad() as receiver:
        completed, report = _load(
            ["--provider", "varda", "--target-url", f"{receiver.base}/hooks",
             "--effects-url", f"{receiver.base}/effects", "--rate", "50", "--duration", "4",
             "--duplicates", "0.5"], tmp_path)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert report is not None
    lost = sum(e["exactly_once"]["lost"] for e in report["events"])
    twice = sum(e["exactly_once"]["duplicated"] for e in report["events"])
    assert lost > 0 and twice > 0, report["events"]
    assert all(e["errors"] == 0 and e["latency_ok"] for e in report["events"])
    assert any("processed 0 times" in p for p in report["problems"])


def test_one_master_and_two_workers_give_the_same_verdict(reference: str,
                                                          tmp_path: Path) -> None:
    port = _free_port()
    common = [*_reference_args(reference), "--rate", "40", "--duration", "3",
              "--duplicates", "0.2", "--master-port", str(port)]
    env = dict(os.environ, **{SECRET_ENV: SECRET})
    base = [sys.executable, "-m", "hookproof.cli", "load", "--secret-env", SECRET_ENV]
    master = subprocess.Popen([*base, *common, "--master", "--expect-workers", "2",
                               "--reports", str(tmp_path)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    time.sleep(1.0)
    workers = [subprocess.Popen([*base, *common, "--worker", "--master-host", "127.0.0.1",
                                 "--reports", str(tmp_path / f"w{i}")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i in range(2)]
    try:
        output, _ = master.communicate(timeout=120)
        for worker in workers:
            worker.wait(timeout=60)  # they leave when the master quits
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
    assert master.returncode == 0, output
    report = json.loads((tmp_path / "load.json").read_text())
    Draft202012Validator(SCHEMA).validate(report)
    assert report["workers"] == 2 and report["ok"]
    assert report["deliveries"] >= 80
    for row in report["events"]:
        assert row["exactly_once"]["acknowledged"] == row["exactly_once"]["once"] > 0
    assert "on 2 workers" in output


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of a non-interlaced 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, width, height, channels = 8, b"", 0, 0, 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            chunks += body
        offset += 12 + length
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) *
                                                          (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, channels, rows


def _count_colour(rows: list[bytes], channels: int, rgb: tuple[int, int, int]) -> int:
    found = 0
    for row in rows:
        for i in range(0, len(row), channels):
            if all(abs(row[i + c] - rgb[c]) <= 24 for c in range(3)):
                found += 1
    return found


def test_the_charts_render_in_chromium(
        reference_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path],
        tmp_path: Path) -> None:
    """The HTML report's charts, drawn by a real browser: the throughput and p95 lines, the
    dashed budget line, the exactly-once bars."""
    html_file = reference_run[2] / "load.html"
    text = html_file.read_text()
    assert text.count("<svg") == 3 and "<script" not in text and "src=" not in text
    screenshot = tmp_path / "load.png"
    completed = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={screenshot}", "--window-size=900,1400", "--hide-scrollbars",
         html_file.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0 and screenshot.is_file(), completed.stderr[-2000:]
    _, channels, rows = _png_pixels(screenshot.read_bytes())
    assert _count_colour(rows, channels, (0x1F, 0x6F, 0xEB)) > 500  # the series lines
    assert _count_colour(rows, channels, (0xD1, 0x24, 0x2F)) > 100  # the budget line
    assert _count_colour(rows, channels, (0x2D, 0xA4, 0x4E)) > 2000  # processed-once bars


@pytest.mark.parametrize(("args", "message"), [
    (["--rate", "100000"], "--rate 100000: give 0 < rate <= 2000"),
    (["--duration", "0"], "--duration 0: give 0 < seconds <= 3600"),
    (["--users", "5000"], "--users 5000: give 1 to 1000"),
    (["--rate", "2000", "--duration", "3600"], "at most 500,000 are kept"),
    (["--duplicates", "2"], "--duplicates 2: a fraction from 0 to 1"),
])
def test_bounds_are_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    completed, report = _load(["--provider", "varda", "--target-url",
                               "http://127.0.0.1:9/varda", *args], tmp_path)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert message in completed.stderr and "Traceback" not in completed.stderr
    assert report is None


def test_bad_target_and_secret_are_usage_errors(tmp_path: Path) -> None:
    completed, _ = _load(["--provider", "varda", "--target-url", "ftp://example.com/x"],
                         tmp_path)
    assert completed.returncode == 2 and "is not an http:// or https:// URL" in completed.stderr
    env = {k: v for k, v in os.environ.items() if k != "HOOKPROOF_SECRET"}
    missing = subprocess.run([sys.executable, "-m", "hookproof.cli", "load", "--provider",
                              "varda", "--target-url", "http://127.0.0.1:9/varda"],
                             env=env, capture_output=True, text=True, timeout=60,
                             check=False)
    assert missing.returncode == 2 and "HOOKPROOF_SECRET" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_ctrl_c_writes_what_was_measured(reference: str, tmp_path: Path) -> None:
    env = dict(os.environ, **{SECRET_ENV: SECRET})
    process = subprocess.Popen(
        [sys.executable, "-m", "hookproof.cli", "load", "--secret-env", SECRET_ENV,
         *_reference_args(reference), "--rate", "20", "--duration", "60", "--reports",
         str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    report = json.loads((tmp_path / "load.json").read_text())
    Draft202012Validator(SCHEMA).validate(report)
    assert report["interrupted"] is True and report["deliveries"] > 10
    assert report["duration_s"] < 30
    assert "interrupted: what was measured until then is reported" in output


def test_the_command_line_imports_no_tls_before_locust() -> None:
    """Locust patches ``ssl`` with gevent when it is imported; an ``ssl`` already imported
    makes every TLS context recurse until Python gives up. The ``hookproof`` command's own
    modules must therefore leave the HTTP stack to the command that runs."""
    probe = ("import sys, hookproof.cli; "
             "print(sorted(m for m in ('ssl', 'urllib3', 'requests', 'httpx', 'gevent') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60, check=True).stdout.strip()
    assert loaded == "[]", f"importing hookproof.cli loaded {loaded}"
