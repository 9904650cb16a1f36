"""The ``hookproof`` command: ``list``, ``validate`` and ``vectors``.

Run in-process through ``hookproof.cli.main`` (captured with capsys), and once through the
installed console script to prove the entry point works.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.examples import example_named, fixtures_root, invalid_examples
from hookproof.cli import main

FIXTURES = Path(str(fixtures_root()))

EXPECTED = {
    "operator": 3,
    "twilio-conversations": 23,
    "twilio-frontline": 7,
    "twilio-orchestrator": 7,
    "varda": 9,
}


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def payload(provider: str, event: str, name: str = "maximal") -> Any:
    example = example_named(provider, event, name)
    assert example is not None
    return json.loads(json.dumps(example.payload))  # a deep copy


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path


def line_with(path: Path, key: str) -> int:
    """The first line of ``path`` on which ``"key":`` stands (found by plain text search)."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if f'"{key}":' in text:
            return number
    raise AssertionError(f"no {key!r} in {path}")


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- list

_HEADER = re.compile(r"^(?P<id>\S+): (?P<title>.+) \((?P<n>\d+) events: (?P<kinds>[^)]*)\)$")


def _parse_list(out: str) -> dict[str, dict[str, Any]]:
    providers: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in out.splitlines():
        match = _HEADER.match(line)
        if match:
            kinds = dict(
                (k, int(n)) for n, k in (part.split(" ") for part in match["kinds"].split(", "))
            )
            current = providers[match["id"]] = {
                "n": int(match["n"]), "kinds": kinds, "events": [], "resources": []
            }
        else:
            assert current is not None and line.startswith("  "), line
            fields = line.split()
            if fields[1] == "resource":
                current["resources"].append(fields[0])
            else:
                current["events"].append((fields[0], fields[1]))
    return providers


def test_list_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list")
    assert code == 0 and err == ""
    listed = _parse_list(out)
    assert {p: v["n"] for p, v in listed.items()} == EXPECTED
    for provider, info in listed.items():
        assert len(info["events"]) == info["n"], provider
        assert sum(info["kinds"].values()) == info["n"], provider
    assert listed["twilio-conversations"]["kinds"] == {"pre": 10, "post": 13}
    assert "callback" in listed["twilio-frontline"]["kinds"]
    assert listed["twilio-conversations"]["resources"] == [
        "WebhookConfiguration", "Conversation", "Participant", "Message", "User"]
    assert "twilio-conversations: Twilio Conversations (23 events: 10 pre, 13 post)" in out


def test_list_one_provider(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--provider", "varda")
    assert code == 0
    assert list(_parse_list(out)) == ["varda"]


def test_list_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", "--provider", "nope")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "known providers: operator, twilio-conversations" in err


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert {p["provider"]: len(p["events"]) for p in document} == EXPECTED
    by_id = {p["provider"]: p for p in document}
    kinds = [e["kind"] for e in by_id["twilio-conversations"]["events"]]
    assert kinds.count("pre") == 10 and kinds.count("post") == 13
    assert by_id["twilio-conversations"]["resources"] == [
        "WebhookConfiguration", "Conversation", "Participant", "Message", "User"]
    add = next(e for e in by_id["twilio-conversations"]["events"]
               if e["name"] == "onMessageAdd")
    assert add["response_contract"] is True and add["budget_seconds"] > 0
    assert all("group" in e for e in by_id["twilio-frontline"]["events"])
    assert all("group" not in e for e in by_id["varda"]["events"])


# --------------------------------------------------------------------------- validate: files


def test_validate_valid_examples(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted((FIXTURES / "varda").glob("*/valid/*.json"))
    assert len(files) > 9
    code, out, err = run(capsys, "validate", "--provider", "varda", *files)
    assert code == 0, out + err
    assert out.splitlines() == [f"{len(files)} payload(s): 0 error(s) in 0, "
                                "0 drift finding(s) in 0"]


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_validate_every_valid_example_of_a_provider(
    capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    # Every event's valid request examples (JSON and raw .form), the event named explicitly.
    for event in load_catalogue().provider(provider).events:
        files = sorted((FIXTURES / provider / event.name / "valid").glob("*.*"))
        assert files, event.name
        code, out, err = run(capsys, "validate", "--provider", provider,
                             "--event", event.name, *files)
        assert code == 0, (event.name, out, err)


def test_validate_invalid_example(capsys: pytest.CaptureFixture[str]) -> None:
    file = FIXTURES / "varda/message.created/invalid/missing-data-id.json"
    code, out, err = run(capsys, "validate", "--provider", "varda", file)
    assert code == 1 and err == ""
    lines = out.splitlines()
    # a missing field is reported on the line of the object it is missing from
    data_line = line_with(file, "data")
    assert lines[0].startswith(f"{file}:{data_line}: $.data.id: required field 'id' is missing")
    assert lines[-1] == "1 payload(s): 1 error(s) in 1, 0 drift finding(s) in 0"


@pytest.mark.parametrize(
    "example",
    [pytest.param(e, id=f"twilio-conversations/onMessageAdd/{e.name}")
     for e in invalid_examples("twilio-conversations", "onMessageAdd")],
)
def test_validate_reports_the_recorded_path(
    capsys: pytest.CaptureFixture[str], example: Any
) -> None:
    file = FIXTURES / "twilio-conversations/onMessageAdd/invalid" / example.name
    code, out, _ = run(capsys, "validate", "--provider", "twilio-conversations",
                       "--event", "onMessageAdd", file)
    assert code == 1
    first = out.splitlines()[0]
    assert re.match(rf"{re.escape(str(file))}:[0-9]+: {re.escape(example.path)}: ", first), first
    assert out.splitlines()[0].endswith(f"[{example.rule}]")


def test_drift_is_printed_after_errors(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    drifting = payload("varda", "message.created")
    drifting["data"]["mood"] = "happy"
    broken = payload("varda", "message.created")
    del broken["data"]["content"]
    a = write_json(tmp_path / "a.json", drifting)
    b = write_json(tmp_path / "b.json", broken)
    code, out, _ = run(capsys, "validate", "--provider", "varda", a, b)
    assert code == 1
    assert out.splitlines() == [
        f"{b}:{line_with(b, 'data')}: $.data.content: required field 'content' is missing "
        "[required]",
        "drift (tolerated, but not in the contract):",
        f"{a}:{line_with(a, 'mood')}: $.data.mood: unknown field 'mood'",
        "2 payload(s): 1 error(s) in 1, 1 drift finding(s) in 1",
    ]


def test_drift_alone_exits_0_and_no_drift_hides_it(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    drifting = payload("varda", "message.created")
    drifting["data"]["direction"] = "sideways"
    file = write_json(tmp_path / "d.json", drifting)
    code, out, _ = run(capsys, "validate", "--provider", "varda", file)
    assert code == 0
    line = line_with(file, "direction")
    assert f"{file}:{line}: $.data.direction: undocumented value 'sideways'" in out
    code, out, _ = run(capsys, "validate", "--provider", "varda", "--no-drift", file)
    assert code == 0
    assert out.splitlines() == ["1 payload(s): 0 error(s) in 0, 1 drift finding(s) in 1"]


def test_jsonl_mix_reports_right_line_numbers(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    good = payload("varda", "message.created")
    other = payload("varda", "call.ended")
    missing = payload("varda", "message.created")
    del missing["data"]["id"]
    drifting = payload("varda", "call.started")
    drifting["extra"] = True
    wrong_type = payload("varda", "contact.created")
    wrong_type["timestamp"] = 12
    file = write_jsonl(tmp_path / "archive.jsonl",
                       [good, "", missing, other, drifting, "   ", wrong_type])
    code, out, _ = run(capsys, "validate", "--provider", "varda", file)
    assert code == 1
    assert out.splitlines() == [
        f"{file}:3: $.data.id: required field 'id' is missing [required]",
        f"{file}:7: $.timestamp: 12 is not of type 'string' [type]",
        "drift (tolerated, but not in the contract):",
        f"{file}:5: $.extra: unknown field 'extra'",
        "5 payload(s): 2 error(s) in 2, 1 drift finding(s) in 1",
    ]


def test_jsonl_of_form_params(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    add = payload("twilio-conversations", "onMessageAdd")
    added = payload("twilio-conversations", "onMessageAdded")
    bad = payload("twilio-conversations", "onConversationAdd")
    bad["ChatServiceSid"] = "nope"
    file = write_jsonl(tmp_path / "twilio.ndjson", [add, added, bad])
    code, out, _ = run(capsys, "validate", "--provider", "twilio-conversations", file)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{file}:3: $.ChatServiceSid: ")
    assert lines[0].endswith("[pattern]")
    assert lines[-1] == "3 payload(s): 1 error(s) in 1, 0 drift finding(s) in 0"


def test_jsonl_bad_line_is_unusable_but_the_rest_is_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = payload("varda", "message.created")
    del missing["event"]
    broken = payload("varda", "call.ended")
    broken["data"]["id"] = "7"
    file = write_jsonl(tmp_path / "a.jsonl",
                       [payload("varda", "message.created"), "{not json", missing, broken])
    code, out, err = run(capsys, "validate", "--provider", "varda", file)
    assert code == 2 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{file}:2: $: unusable: not JSON")
    assert lines[1] == f"{file}:3: $: unusable: cannot tell which event this is; give --event"
    assert lines[2].startswith(f"{file}:4: $.data.id: \"7\" is not of type 'integer'")
    assert lines[-1].endswith(", 2 unusable")


def test_event_is_inferred_per_payload(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    # Each payload validated against its own event (a call.ended payload would fail
    # message.created's contract).
    lines = [payload("varda", e) for e in ("message.created", "call.ended", "contact.updated")]
    file = write_jsonl(tmp_path / "mixed.jsonl", lines)
    code, _, _ = run(capsys, "validate", "--provider", "varda", file)
    assert code == 0
    code, out, _ = run(capsys, "validate", "--provider", "varda", "--event", "message.created",
                       file)
    assert code == 1 and f"{file}:2: $.event: " in out


def test_frontline_routing_needs_event(capsys: pytest.CaptureFixture[str]) -> None:
    file = FIXTURES / "twilio-frontline/routing/valid/maximal.json"
    code, out, _ = run(capsys, "validate", "--provider", "twilio-frontline", file)
    assert code == 2
    mentions = [line for line in out.splitlines() if "--event" in line]
    assert mentions == [f"{file}:1: $: unusable: cannot tell which event this is; give --event"]
    code, _, _ = run(capsys, "validate", "--provider", "twilio-frontline", "--event", "routing",
                     file)
    assert code == 0


def test_raw_form_body(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    documented = FIXTURES / "twilio-conversations/onMessageAdd/valid/documented.form"
    code, out, _ = run(capsys, "validate", "--provider", "twilio-conversations", documented)
    assert code == 0, out
    body = documented.read_bytes().replace(b"ConversationSid=CH", b"ConversationSid=XX")
    bad = tmp_path / "bad.form"
    bad.write_bytes(body)
    code, out, _ = run(capsys, "validate", "--provider", "twilio-conversations", bad)
    assert code == 1
    assert out.splitlines()[0].startswith(f"{bad}:1: $.ConversationSid: ")


def test_raw_form_body_with_repeated_key(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    params = payload("twilio-conversations", "onConversationAdd")
    params["MessagingBinding.Address"] = ["+15555550101", "+15555550102"]
    from hookproof.transport.encoding import encode_form

    file = tmp_path / "group.form"
    file.write_bytes(encode_form(params))
    code, out, _ = run(capsys, "validate", "--provider", "twilio-conversations", file)
    assert code == 0, out


# --------------------------------------------------------------------------- validate: unusable


def test_not_json_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "x.json"
    file.write_text("this is not json\n")
    code, _, err = run(capsys, "validate", "--provider", "varda", file)
    assert code == 2
    assert err.splitlines() == [f"hookproof: error: {file}:1: not JSON (Expecting value)"]


def test_not_utf8_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "x.json"
    file.write_bytes(b'{"event": "\xff"}')
    code, _, err = run(capsys, "validate", "--provider", "varda", file)
    assert code == 2 and err.count("\n") == 1 and "not UTF-8" in err


def test_unknown_provider(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = write_json(tmp_path / "x.json", {})
    code, out, err = run(capsys, "validate", "--provider", "nope", file)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "hookproof: error: unknown provider 'nope'; known providers: "
        + ", ".join(sorted(EXPECTED))
    ]


def test_unknown_event(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = write_json(tmp_path / "x.json", payload("varda", "message.created"))
    code, out, err = run(capsys, "validate", "--provider", "varda", "--event", "nope", file)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "unknown event 'nope' for provider 'varda'; known events: conversation.created" in err


def test_unknown_event_in_payload(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = payload("varda", "message.created")
    body["event"] = "message.exploded"
    file = write_json(tmp_path / "x.json", body)
    code, out, _ = run(capsys, "validate", "--provider", "varda", file)
    assert code == 2
    assert f"{file}:1: $: unusable: unknown varda event 'message.exploded'" in out


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = write_json(tmp_path / "good.json", payload("varda", "message.created"))
    missing = tmp_path / "missing.json"
    code, out, err = run(capsys, "validate", "--provider", "varda", missing, good)
    assert code == 2
    assert err.splitlines() == [f"hookproof: error: {missing}: no such file"]
    assert "1 payload(s)" in out  # the other file is still checked


def test_directory_instead_of_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", "--provider", "varda", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "x.json"])  # --provider is required
    assert exc.value.code == 2
    assert "--provider" in capsys.readouterr().err


# --------------------------------------------------------------------------- vectors


def test_vectors_operator(capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("hookproof.catalogue.vectors") is None:
        pytest.skip("hookproof.catalogue.vectors is not written yet (another helper's module)")
    code, out, _ = run(capsys, "vectors", "--provider", "operator")
    assert code == 0
    document = json.loads(out)
    assert isinstance(document["vectors"], list) and document["vectors"]


def test_vectors_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("hookproof.catalogue.vectors") is None:
        pytest.skip("hookproof.catalogue.vectors is not written yet (another helper's module)")
    code, out, err = run(capsys, "vectors", "--provider", "nope")
    assert code == 2 and out == "" and "known providers" in err


# --------------------------------------------------------------------------- console script


def _console_script() -> Path:
    script = Path(sys.executable).parent / "hookproof"
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable}")
    return script


def test_console_script_list() -> None:
    proc = subprocess.run([str(_console_script()), "list", "--format", "json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert {p["provider"]: len(p["events"]) for p in json.loads(proc.stdout)} == EXPECTED


def test_console_script_validate_errors_are_one_line(tmp_path: Path) -> None:
    file = tmp_path / "x.json"
    file.write_text("{oops")
    proc = subprocess.run(
        [str(_console_script()), "validate", "--provider", "varda", str(file)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"hookproof: error: {file}:1: not JSON (Expecting property name enclosed in double "
        "quotes)"
    ]
