"""Bad input gets one clear line and the documented exit code, never a traceback.

Each case feeds one hostile input (100,000-deep JSON, a 5,000-digit integer, a FIFO, a HAR
without entries, a YAML alias bomb, impossible option values, paths that cannot be written) to
the command that reads it, in a subprocess, exactly as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from receivers import unused_port

DEEP = "[" * 100_000 + "]" * 100_000
BIG_INT = '{"event": "message.created", "n": ' + "9" * 5000 + "}"
BOMB = """\
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
targets: [*c]
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPROOF_")}
    env["HOOKPROOF_SECRET"] = "bad-input-secret"
    return env


def cli(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookproof.cli", *args], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)


def pytest_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60,
                          check=False)


def one_line(done: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    text = done.stdout + done.stderr
    assert done.returncode == code, text[-2000:]
    assert "Traceback" not in text and "INTERNALERROR" not in text, text[-2000:]
    for fragment in fragments:
        assert fragment in text, text[-2000:]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "deep.json": DEEP, "bigint.json": BIG_INT, "deep.jsonl": DEEP + "\n",
        "empty-log.har": json.dumps({"log": []}), "bomb.yaml": BOMB,
        "baseline-deep.json": DEEP,
    }
    paths = {}
    for name, text in made.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    paths["fifo.json"] = fifo
    return paths


@pytest.mark.parametrize(("name", "said"), [
    ("deep.json", "nested too deeply"),
    ("empty-log.har", "not a HAR file"),
    ("fifo.json", "not a regular file"),
])
def test_validate(tmp_path: Path, files: dict[str, Path], name: str, said: str) -> None:
    one_line(cli(tmp_path, "validate", str(files[name]), "--provider", "varda"), 2, said)


def test_validate_a_huge_number_is_a_number(tmp_path: Path, files: dict[str, Path]) -> None:
    # a 5,000-digit integer is valid JSON: it is judged as a number, not refused as unusable
    one_line(cli(tmp_path, "validate", str(files["bigint.json"]), "--provider", "varda"), 1,
             "$.n: unknown field 'n'", "$.data: required field 'data' is missing")


def test_validate_jsonl_deep_record(tmp_path: Path, files: dict[str, Path]) -> None:
    one_line(cli(tmp_path, "validate", str(files["deep.jsonl"]), "--provider", "varda"), 2,
             "nested too deeply")


@pytest.mark.parametrize(("name", "said"), [
    ("deep.json", "nested too deeply"),
    ("fifo.json", "not a regular file"),
])
def test_send_data(tmp_path: Path, files: dict[str, Path], name: str, said: str) -> None:
    url = f"http://127.0.0.1:{unused_port()}/varda"
    one_line(cli(tmp_path, "send", "message.created", "--provider", "varda", "--target-url",
                 url, "--data", str(files[name])), 2, said)


def test_yaml_alias_bomb(tmp_path: Path, files: dict[str, Path]) -> None:
    one_line(cli(tmp_path, "run", "--config", str(files["bomb.yaml"])), 2,
             "aliases (*name) are not supported")


def test_send_duplicate_is_bounded(tmp_path: Path) -> None:
    one_line(cli(tmp_path, "send", "message.created", "--provider", "varda", "--target-url",
                 "http://127.0.0.1:9/varda", "--duplicate", "1000000"), 2, "at most 1000")


@pytest.mark.parametrize(("args", "said"), [
    (("--port", "99999"), "not a port"),
    (("--db", "."), "is a directory"),
])
def test_serve_arguments(tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    one_line(cli(tmp_path, "serve", *args), 2, said)


def test_export_to_a_directory(tmp_path: Path) -> None:
    one_line(cli(tmp_path, "export", "openapi", "--provider", "varda", "-o", str(tmp_path)), 2,
             "hookproof: error:")


@pytest.mark.parametrize(("args", "said"), [
    (("--hookproof-budget", "nan"), "not a finite number"),
    (("--hookproof-budget", "inf"), "not a finite number"),
    (("--hookproof-concurrency", "100000"), "at most 100"),
    (("--fuzz-examples", "1000000000"), "at most 10000"),
    (("--hookproof-max-answer", "999999999999"), "at most"),
    (("--secret-env", "sk_live_pasted-value+/="), "not its value"),
    (("--ca-bundle", "no-such-bundle.pem"), "not a readable file"),
])
def test_bad_option_values(tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    done = pytest_run(tmp_path, "--target-url", "http://127.0.0.1:9/varda", "--provider",
                      "varda", *args)
    one_line(done, 4, said)
    assert "sk_live_pasted-value" not in done.stdout + done.stderr


def test_unwritable_reports_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the directory should go")
    one_line(pytest_run(tmp_path, "--target-url", "http://127.0.0.1:9/varda", "--provider",
                        "varda", "--hookproof-reports", str(blocker / "reports")), 4,
             "--hookproof-reports", "cannot write there")


def test_deep_baseline_file(tmp_path: Path, files: dict[str, Path]) -> None:
    one_line(pytest_run(tmp_path, "--target-url", "http://127.0.0.1:9/varda", "--provider",
                        "varda", "--hookproof-baseline", str(files["baseline-deep.json"])), 4,
             "not a hookproof baseline file")
