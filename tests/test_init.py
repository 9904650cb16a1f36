"""``hookproof init``: a new team's first run, written for it, then plain ``pytest``.

Each project is a temporary folder whose app module imports one of the test apps (a Flask
receiver on twilio's ``RequestValidator``, a FastAPI Varda receiver) or defines a broken one;
``hookproof init`` runs there as a team runs it, then the ``pytest`` command itself.
"""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
SECRET_ENV = "HOOKPROOF_TEST_SECRET"
SECRET = "init-test-secret-7c1d"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPROOF_")}
    env.update({SECRET_ENV: SECRET, "PYTHONPATH": str(TESTS)})  # the test apps
    return env


def _init(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookproof.cli", "init", "--secret-env",
                           SECRET_ENV, *args], cwd=project, env=_env(), capture_output=True,
                          text=True, timeout=120, check=False)


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("pytest")
    if not command.is_file():
        pytest.skip(f"no pytest command beside {sys.executable}")
    env = dict(_env(), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return subprocess.run([str(command), "-p", "hookproof.plugin", "-p", "no:cacheprovider",
                           *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _project(tmp_path: Path, source: str, name: str = "webhooks.py") -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / name).write_text(source)
    return project


WRITTEN = {"pytest.ini", "conftest.py", "tests/test_hookproof_webhooks.py",
           ".github/workflows/hookproof.yml", ".gitlab-ci.yml"}


def _files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and "reports" not in p.parts}


@pytest.mark.parametrize(("source", "args", "provider"), [
    ("from apps.flask_conversations import create_app\n\napp = create_app()\n",
     ("--provider", "twilio-conversations"), "twilio-conversations"),
    # nothing given: the provider is the one the handlers name (X-Varda-Signature, ...)
    ("from apps.fastapi_varda import create_app\n\napp = create_app()\n", (), "varda"),
], ids=["flask", "fastapi"])
def test_init_then_plain_pytest_passes_against_the_app(
        source: str, args: tuple[str, ...], provider: str, tmp_path: Path) -> None:
    project = _project(tmp_path, source)
    made = _init(project, *args)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"provider {provider}" in made.stdout
    assert _files(project) == WRITTEN | {"webhooks.py"}
    ini = (project / "pytest.ini").read_text()
    assert f"hookproof_provider = {provider}" in ini
    assert "hookproof_effects_url = /" in ini  # the app's own probe was found
    for workflow in (".github/workflows/hookproof.yml", ".gitlab-ci.yml"):
        assert "pytest" in (project / workflow).read_text()
    run = _pytest(project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "tests/test_hookproof_webhooks.py ..." in run.stdout, run.stdout[-3000:]
    report = json.loads((project / "reports" / "conformance.json").read_text())
    assert report["conformant"] is True
    assert report["targets"][0]["provider"] == provider
    assert report["targets"][0]["summary"]["checks"] > 100  # the whole suite ran too
    team = _pytest(project, "tests/test_hookproof_webhooks.py", "-q")
    assert team.returncode == 0 and "3 passed" in team.stdout, team.stdout[-2000:]


BROKEN = """\
from flask import Flask

app = Flask(__name__)


@app.post("/webhooks/varda")
def hook():
    return {"error": "database is down"}, 500
"""


def test_a_broken_app_fails_with_the_request_the_answer_and_the_reproduction(
        tmp_path: Path) -> None:
    project = _project(tmp_path, BROKEN, name="app.py")
    made = _init(project, "--provider", "varda", "--ci", "none")
    assert made.returncode == 0, made.stdout + made.stderr
    # no probe on the app: a snippet for the framework, valid Python, naming the dedupe key
    probe = project / "webhook_effects_probe.py"
    py_compile.compile(str(probe), doraise=True)
    assert "X-Varda-Delivery" in probe.read_text() and "Blueprint" in probe.read_text()
    assert "# hookproof_effects_url" in (project / "pytest.ini").read_text()
    run = _pytest(project, "tests/test_hookproof_webhooks.py")
    assert run.returncode == 1, run.stdout[-3000:]
    out = run.stdout
    assert "sent:     POST http://localhost/webhooks/varda" in out
    assert "got:      HTTP 500" in out and "database is down" in out
    assert "reproduce, with the app served at http://127.0.0.1:8000 (signed anew with " \
           "$HOOKPROOF_TEST_SECRET):" in out
    assert "hookproof send conversation.created --provider varda --target-url " \
           "http://127.0.0.1:8000/webhooks/varda" in out
    assert SECRET not in out + run.stderr


def test_init_never_overwrites(tmp_path: Path) -> None:
    project = _project(tmp_path, BROKEN, name="app.py")
    (project / "conftest.py").write_text("# the team's own\n")
    refused = _init(project, "--provider", "varda")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "nothing written: conftest.py exists" in refused.stderr
    assert "hookproof_provider = varda" in refused.stderr  # what to set by hand
    assert _files(project) == {"app.py", "conftest.py"}
    assert (project / "conftest.py").read_text() == "# the team's own\n"
    (project / "conftest.py").unlink()
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-q'\n")
    shadowed = _init(project, "--provider", "varda")
    assert shadowed.returncode == 2 and "pyproject.toml configures pytest" in shadowed.stderr
    assert _files(project) == {"app.py", "pyproject.toml"}
    # the team's own pipeline is left alone: the job goes beside it
    (project / "pyproject.toml").unlink()
    (project / ".gitlab-ci.yml").write_text("stages: [test]\n")
    beside = _init(project, "--provider", "varda")
    assert beside.returncode == 0, beside.stderr
    assert (project / ".gitlab-ci.yml").read_text() == "stages: [test]\n"
    assert "include" in beside.stdout and (project / "hookproof.gitlab-ci.yml").is_file()


@pytest.mark.parametrize(("source", "args", "message"), [
    ("print('no app here')\n", ("--provider", "varda"), "no app found under"),
    (BROKEN, (), "cannot tell the provider from the app's handlers: give --provider"),
    (BROKEN, ("--provider", "vardaa"), "did you mean varda?"),
    (BROKEN, ("--app", "app:nothing", "--provider", "varda"), "has no attribute 'nothing'"),
])
def test_what_init_cannot_find_is_one_line(source: str, args: tuple[str, ...], message: str,
                                          tmp_path: Path) -> None:
    project = _project(tmp_path, source, name="app.py")
    refused = _init(project, *args)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert message in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
    assert _files(project) == {"app.py"}


def test_init_reads_a_django_apps_routes(tmp_path: Path) -> None:
    """Django: the app is its WSGI handler; the webhook and the effects probe are read off
    its URL patterns. Its view names no event, so the provider is asked for, in one line."""
    project = _project(tmp_path, "from apps.django_conversations import create_app\n\n"
                                 "app = create_app()\n")
    unknown = _init(project, "--ci", "none")
    assert unknown.returncode == 2 and "give --provider" in unknown.stderr, unknown.stderr
    made = _init(project, "--ci", "none", "--provider", "twilio-conversations")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "(django, found in the sources)" in made.stdout
    ini = (project / "pytest.ini").read_text()
    assert "hookproof_target_url = /twilio/conversations\n" in ini
    assert "hookproof_effects_url = /twilio/conversations/effects\n" in ini
