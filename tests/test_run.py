"""``hookproof run``: several targets (config) or one URL, each its own pytest run, one report.

The targets are the reference receiver in a :class:`BackgroundServer` on 127.0.0.1. The
command runs in-process through ``hookproof.cli.main`` in a temporary working directory; each
target's pytest process inherits the environment (the secret) from this one.
"""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hookproof.catalogue import load_catalogue
from hookproof.cli import main
from hookproof.cli.run import TargetSpec, load_config, run_targets
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig
from hookproof.receiver.server import BackgroundServer
from hookproof.reports.document import schema

SECRET = "hookproof-run-test-secret-77c1"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROVIDERS = sorted(load_catalogue().providers)


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    config = ReceiverConfig(secrets={p: SECRET for p in PROVIDERS}, environ={},
                            replay_protection=False)  # many runs, one receiver
    with BackgroundServer(create_app(config)) as server:
        yield server.url


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOKPROOF_SECRET", SECRET)
    monkeypatch.setenv("VARDA_SECRET", SECRET)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


@pytest.fixture
def setup_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only operator's conversation.setup (HOOKPROOF_EVENTS reaches each target's pytest run):
    tests about which targets run need not run every check."""
    monkeypatch.setenv("HOOKPROOF_EVENTS", "conversation.setup")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert SECRET not in out + err
    return code, out, err


def report(workdir: Path, folder: str = "reports") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (workdir / folder / "conformance.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema())
    return document


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("hookproof: error: ")
    return lines[0]


def write_yaml(workdir: Path, targets: list[dict[str, Any]] | None,
               name: str = "hookproof.yaml", **top: Any) -> Path:
    document: dict[str, Any] = dict(top)
    if targets is not None:
        document["targets"] = targets
    path = workdir / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def three_targets(url: str) -> list[dict[str, Any]]:
    return [
        {"name": "varda-local", "provider": "varda", "url": f"{url}/varda",
         "secret_env": "VARDA_SECRET", "effects_url": f"{url}/varda/effects"},
        {"name": "operator-local", "provider": "operator", "url": f"{url}/operator"},
        {"name": "frontline-local", "provider": "twilio-frontline",
         "url": f"{url}/twilio-frontline",
         "hook_urls": {"crm": f"{url}/twilio-frontline/crm"}},
    ]


# --------------------------------------------------------------------------- config targets


def test_config_targets_make_one_report(capfd: pytest.CaptureFixture[str], receiver: str,
                                        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = workdir / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_yaml(workdir, three_targets(receiver))
    code, out, _ = run(capfd)
    assert code == 0, out
    document = report(workdir)
    assert [t["name"] for t in document["targets"]] == ["varda-local", "operator-local",
                                                        "frontline-local"]
    assert document["providers"] == ["operator", "twilio-frontline", "varda"]
    assert document["conformant"] is True
    for target in document["targets"]:
        assert target["summary"]["checks"] > 0
        assert target["summary"]["fail_required"] == 0
        assert target["coverage"]["ratio"] == 1.0
    assert (workdir / "reports" / "conformance.html").is_file()
    assert (workdir / "reports" / "conformance.md").is_file()
    assert "hookproof: 3 target(s), conformant" in out
    # the effects probe was given for varda only: its idempotency checks are observed
    varda = document["targets"][0]
    assert varda["summary"]["not_observed"] == 0
    assert document["targets"][1]["summary"]["not_observed"] > 0
    # the step summary gets the merged report once, not once per target as well
    text = summary.read_text(encoding="utf-8")
    assert text.count("hookproof conformance") == 1
    assert len([line for line in text.splitlines() if line.startswith("# ")]) == 1


def test_target_option_selects(capfd: pytest.CaptureFixture[str], receiver: str,
                               workdir: Path, setup_only: None) -> None:
    write_yaml(workdir, three_targets(receiver))
    code, out, _ = run(capfd, "--target", "operator-local", "--reports", "out")
    assert code == 0, out
    assert [t["name"] for t in report(workdir, "out")["targets"]] == ["operator-local"]
    assert "varda-local" not in out


def test_unknown_target_name_exits_2(capfd: pytest.CaptureFixture[str], receiver: str,
                                     workdir: Path) -> None:
    write_yaml(workdir, three_targets(receiver))
    code, _, err = run(capfd, "--target", "nope")
    assert code == 2
    line = one_line_error(err)
    assert "unknown target(s) nope" in line and "varda-local" in line


def test_pyproject_tool_hookproof_is_read(capfd: pytest.CaptureFixture[str], receiver: str,
                                          workdir: Path, setup_only: None) -> None:
    (workdir / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "my-receiver"

        [[tool.hookproof.targets]]
        name = "op"
        provider = "operator"
        url = "{receiver}/operator"
        effects_url = "{receiver}/operator/effects"
        """), encoding="utf-8")
    code, out, _ = run(capfd)
    assert code == 0, out
    (target,) = report(workdir)["targets"]
    assert target["name"] == "op" and target["provider"] == "operator"
    assert target["url"] == f"{receiver}/operator"
    assert target["summary"]["not_observed"] == 0


def test_hookproof_yaml_wins_over_pyproject(workdir: Path) -> None:
    (workdir / "pyproject.toml").write_text(
        '[[tool.hookproof.targets]]\nname = "a"\nprovider = "varda"\nurl = "http://x/a"\n',
        encoding="utf-8")
    write_yaml(workdir, [{"name": "b", "provider": "operator", "url": "http://x/b"}])
    targets, source = load_config(None, workdir)
    assert [t.name for t in targets] == ["b"]
    assert source == workdir / "hookproof.yaml"


def test_a_target_that_is_down_exits_2_and_the_others_are_reported(
        capfd: pytest.CaptureFixture[str], receiver: str, workdir: Path,
        setup_only: None) -> None:
    down = f"http://127.0.0.1:{closed_port()}/operator"
    write_yaml(workdir, [
        {"name": "down", "provider": "operator", "url": down},
        {"name": "up", "provider": "operator", "url": f"{receiver}/operator"},
    ])
    code, out, err = run(capfd)
    assert code == 2
    merged = report(workdir)
    # the target that could not be tested is in the report too: why, and every check not run
    assert [t["name"] for t in merged["targets"]] == ["down", "up"]
    (gone,) = [t for t in merged["targets"] if t["name"] == "down"]
    assert "connection refused" in gone["unavailable"][0]
    assert {r["outcome"] for r in gone["results"]} == {"not_run"}
    assert merged["conformant"] is False
    assert "connection refused" in out + err  # the down target's run says why
    assert "hookproof: error: could not run target(s) down" in err


# --------------------------------------------------------------------------- one URL


def test_one_url_without_config(capfd: pytest.CaptureFixture[str], receiver: str,
                                workdir: Path, setup_only: None) -> None:
    code, out, _ = run(capfd, "--provider", "operator", f"{receiver}/operator")
    assert code == 0, out
    assert not (workdir / "hookproof.yaml").exists()
    (target,) = report(workdir)["targets"]
    assert target["name"] == "operator" and target["url"] == f"{receiver}/operator"


def test_one_url_then_provider(capfd: pytest.CaptureFixture[str], receiver: str,
                               workdir: Path, setup_only: None) -> None:
    code, out, err = run(capfd, f"{receiver}/operator", "--provider", "operator")
    assert code == 0, out + err
    assert report(workdir)["targets"][0]["provider"] == "operator"


def test_one_url_needs_a_provider(capfd: pytest.CaptureFixture[str], receiver: str) -> None:
    code, _, err = run(capfd, f"{receiver}/operator")
    assert code == 2
    assert "needs --provider" in one_line_error(err)


def test_no_config_and_no_url_exits_2(capfd: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capfd)
    assert code == 2
    assert "no targets" in one_line_error(err)


# --------------------------------------------------------------------------- pytest arguments


def _events_in(document: dict[str, Any]) -> set[str]:
    return {r["event"] for t in document["targets"] for r in t["results"] if r["event"]}


def test_arguments_after_double_dash_reach_pytest(capfd: pytest.CaptureFixture[str],
                                                  receiver: str, workdir: Path) -> None:
    code, out, _ = run(capfd, "--provider", "varda", f"{receiver}/varda",
                       "--", "--events", "conversation.created")
    assert code == 0, out
    document = report(workdir)
    assert _events_in(document) == {"conversation.created"}
    assert document["targets"][0]["coverage"]["events_exercised"] == 1


def test_run_targets_passes_pytest_args_to_every_target(receiver: str, workdir: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    targets = [TargetSpec(name="v", provider="varda", url=f"{receiver}/varda"),
               TargetSpec(name="o", provider="operator", url=f"{receiver}/operator")]
    code = run_targets(targets, reports_dir=workdir / "reports", cwd=workdir,
                       pytest_args=["-k", "signature and valid_accepted"])
    capfd.readouterr()
    assert code == 0
    document = report(workdir)
    checks = {r["check"] for t in document["targets"] for r in t["results"]}
    assert checks == {"signature.valid_accepted"}
    assert [t["name"] for t in document["targets"]] == ["v", "o"]


def test_arguments_after_double_dash_with_a_config(capfd: pytest.CaptureFixture[str],
                                                   receiver: str, workdir: Path) -> None:
    write_yaml(workdir, three_targets(receiver)[:1])
    code, out, err = run(capfd, "--", "--events", "conversation.created")
    assert code == 0, out + err
    assert _events_in(report(workdir)) == {"conversation.created"}


# --------------------------------------------------------------------------- bad config


GOOD = {"name": "a", "provider": "varda", "url": "http://127.0.0.1:9/varda"}


@pytest.mark.parametrize(("targets", "message"), [
    ([], "no targets listed"),
    (None, "no targets listed"),
    ([{**GOOD, "secret": "x"}], "unknown key(s) secret"),
    ([GOOD, {**GOOD, "provider": "operator"}], "target names must be unique (a)"),
    ([{"name": "a", "url": "http://127.0.0.1:9/varda"}], "lacks provider"),
    ([{"name": "a", "provider": "varda"}], "lacks url"),
    ([{**GOOD, "provider": "vardaa"}], "unknown provider 'vardaa'"),
    ([{**GOOD, "name": "a b"}], "use letters, digits"),
    ([{**GOOD, "expect": "4xx"}], "expect must be a table"),
    ([{**GOOD, "hook_urls": ["crm=http://x"]}], "hook_urls must be a table"),
    (["varda"], "each target is a table"),
])
def test_bad_config_exits_2_with_one_line(capfd: pytest.CaptureFixture[str], workdir: Path,
                                          targets: list[Any] | None, message: str) -> None:
    write_yaml(workdir, targets)
    code, _, err = run(capfd)
    assert code == 2
    line = one_line_error(err)
    assert message in line, line
    assert "hookproof.yaml" in line
    assert not (workdir / "reports").exists()  # nothing ran


def test_unparsable_config_exits_2(capfd: pytest.CaptureFixture[str], workdir: Path) -> None:
    (workdir / "hookproof.yaml").write_text("targets: [\n", encoding="utf-8")
    code, _, err = run(capfd)
    assert code == 2
    assert "cannot parse" in one_line_error(err)


def test_missing_config_file_exits_2(capfd: pytest.CaptureFixture[str], workdir: Path) -> None:
    code, _, err = run(capfd, "--config", "nowhere.yaml")
    assert code == 2
    assert "nowhere.yaml: no such file" in one_line_error(err)


def test_pyproject_without_table_given_explicitly_exits_2(capfd: pytest.CaptureFixture[str],
                                                          workdir: Path) -> None:
    (workdir / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    code, _, err = run(capfd, "--config", "pyproject.toml")
    assert code == 2
    assert "no [tool.hookproof] table" in one_line_error(err)


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("name", ["hookproof.yaml", "pyproject-hookproof.toml"])
def test_example_configs_load(name: str, workdir: Path) -> None:
    targets, source = load_config(EXAMPLES / name, workdir)
    assert source == EXAMPLES / name
    assert sorted(t.provider for t in targets) == PROVIDERS
    frontline = next(t for t in targets if t.provider == "twilio-frontline")
    groups = load_catalogue().provider("twilio-frontline").hook_groups
    assert frontline.hook_urls and set(frontline.hook_urls) <= set(groups)
    for target in targets:
        assert target.secret_env != "HOOKPROOF_SECRET" or target.provider == "operator"
        assert target.url.startswith(("http://", "https://"))
        assert "--hookproof-target-name" in target.pytest_args()


def test_github_actions_recipe() -> None:
    text = (EXAMPLES / "ci" / "github-actions.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert "reports/" in text
    steps = workflow["jobs"]["hookproof"]["steps"]
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    # hookproof starts the receiver (command: in hookproof.yaml), one target at a time
    assert "start-my-receiver" not in runs and "/dev/tcp" not in runs
    assert "pip install pytest-hookproof" in runs
    assert "hookproof run --config hookproof.yaml --reports reports --jobs 1" in runs
    targets = yaml.safe_load((EXAMPLES / "hookproof.yaml").read_text(encoding="utf-8"))
    assert any(t.get("command") == "./start-my-receiver" for t in targets["targets"])
    upload = next(s for s in steps if str(s.get("uses", "")).startswith(
        "actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert "reports/" in upload["with"]["path"]
    assert "${{ secrets." in text
    # the secrets reach hookproof as environment variables, never as arguments
    assert all("secrets." not in str(s.get("run", "")) for s in steps)


def test_gitlab_recipe() -> None:
    text = (EXAMPLES / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8")
    pipeline = yaml.safe_load(text)
    job = pipeline["webhook-conformance"]
    script = "\n".join(job["script"])
    assert "--junitxml=reports/junit.xml" in script
    assert job["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert "reports/" in job["artifacts"]["paths"]
    assert job["artifacts"]["when"] == "always"
    assert '--target-command "./start-my-receiver"' in script
