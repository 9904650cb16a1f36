"""``hookproof send``: one signed delivery against the reference receiver, shown and judged.

The receiver runs in a :class:`BackgroundServer` on 127.0.0.1; the command runs in-process
through ``hookproof.cli.main``. Decisions the tests pin down:

* ``--bad-signature`` and ``--stale``: the mode's expectation is a 4xx. The command exits 0
  when the receiver refuses (it behaved as it should) and 1 when it accepts.
* Unusable input (unknown provider/event/example, unreadable ``--data``, no secret, an
  unreachable target, ``--stale`` for a provider without timestamps) exits 2 with exactly
  one line on stderr and no traceback.
* The secret never appears in anything printed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.examples import example_named
from hookproof.cli import main
from hookproof.receiver.answers import Answer, ReferenceAnswerer
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig
from hookproof.receiver.server import BackgroundServer
from hookproof.signing import Verification

SECRET = "hookproof-test-secret-0f3a9c"


def _config(**changes: Any) -> ReceiverConfig:
    providers = sorted(load_catalogue().providers)
    config = ReceiverConfig(secrets={p: SECRET for p in providers}, environ={},
                            replay_protection=False)  # the same example sent again and again
    return dataclasses.replace(config, **changes)


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    with BackgroundServer(create_app(_config())) as server:
        yield server.url


def _accept_everything(provider: Any, request: Any, secret: str, *, now: int) -> Verification:
    return Verification(True, "ok")


class _BadSetupAnswer(ReferenceAnswerer):
    """Answers operator conversation.setup without the required ``context``."""

    def __call__(self, provider: Any, event: Any, payload: Any) -> Answer:
        if event.name == "conversation.setup":
            return Answer.json({"override_config": {}})
        return super().__call__(provider, event, payload)


@pytest.fixture(scope="module")
def lax_receiver() -> Iterator[str]:
    """Accepts every signature (forged, stale) and answers conversation.setup wrongly."""
    config = _config(verifier=_accept_everything, answerer=_BadSetupAnswer())
    with BackgroundServer(create_app(config)) as server:
        yield server.url


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOOKPROOF_SECRET", SECRET)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return SECRET


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["send", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert SECRET not in out + err
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hookproof: error: ")
    return lines[0]


# --------------------------------------------------------------------------- default mode


def test_default_send_shows_signature_and_200(capsys: pytest.CaptureFixture[str],
                                              receiver: str) -> None:
    code, out, err = run(capsys, "conversation.created", "--provider", "varda",
                         "--target-url", f"{receiver}/varda")
    assert code == 0, out + err
    assert "POST " + f"{receiver}/varda" in out
    assert re.search(r"X-Varda-Signature: t=\d+,v1=[0-9a-f]{64}", out)
    assert "signature: X-Varda-Signature:" in out
    assert "X-Varda-Delivery: " in out  # the dedupe key header
    assert '"event":"conversation.created"' in out  # the body
    assert re.search(r"response: HTTP 200 in \d+ ms", out)
    assert "verdict: conforms" in out
    assert "payload: bundled example documented.json" in out  # the canonical example
    assert "curl -sS -i -X POST" in out
    assert "result: the answer is what the platform expects" in out


def test_response_bearing_hook_is_checked_against_its_contract(
        capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    code, out, _ = run(capsys, "conversation.setup", "--provider", "operator",
                       "--target-url", f"{receiver}/operator")
    assert code == 0, out
    assert "response contract responses/conversation.setup.json" in out
    assert '"context"' in out  # the answer's body is shown


def test_answer_breaking_the_response_contract_exits_1(capsys: pytest.CaptureFixture[str],
                                                       lax_receiver: str) -> None:
    code, out, _ = run(capsys, "conversation.setup", "--provider", "operator",
                       "--target-url", f"{lax_receiver}/operator")
    assert code == 1, out
    assert "does NOT conform" in out
    assert "response contract" in out
    assert "context" in out
    assert "result: the answer is NOT what the platform expects" in out


def test_refusal_of_a_correct_delivery_exits_1_with_a_hint(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           receiver: str) -> None:
    monkeypatch.setenv("OTHER_SECRET", "not-the-receivers-secret")
    code, out, _ = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--secret-env", "OTHER_SECRET")
    assert code == 1, out
    assert "HTTP 403" in out
    assert "expected: 2xx" in out
    assert "hint:" in out and "secret" in out
    assert "not-the-receivers-secret" not in out
    assert "$OTHER_SECRET" in out


def test_rejectable_pre_event_may_refuse(capsys: pytest.CaptureFixture[str],
                                         receiver: str, tmp_path: Path) -> None:
    # onMessageAdd may be refused (4xx is a valid answer); the receiver refuses a payload
    # missing a required field with 400, which conforms for this hook
    example = example_named("twilio-conversations", "onMessageAdd", "minimal")
    assert example is not None
    payload = dict(example.payload)
    payload.pop("ConversationSid")
    data = tmp_path / "refused.json"
    data.write_text(json.dumps(payload), encoding="utf-8")
    code, out, _ = run(capsys, "onMessageAdd", "--provider", "twilio-conversations",
                       "--target-url", f"{receiver}/twilio-conversations", "--data", data)
    assert code == 0, out
    assert "HTTP 400" in out
    assert "a refusal, which twilio-conversations allows onMessageAdd" in out


def test_example_minimal_is_sent(capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    code, out, _ = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--example", "minimal")
    assert code == 0, out
    assert "payload: bundled example minimal.json" in out
    code, out, _ = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--example", "maximal.json")
    assert code == 0, out
    assert "payload: bundled example maximal.json" in out


def test_frontline_callback_goes_to_its_hook_group(capsys: pytest.CaptureFixture[str],
                                                   receiver: str) -> None:
    code, out, _ = run(capsys, "GetCustomersList", "--provider", "twilio-frontline",
                       "--target-url", f"{receiver}/twilio-frontline")
    assert code == 0, out
    assert f"POST {receiver}/twilio-frontline/crm" in out
    assert "X-Twilio-Signature: " in out
    code, out, _ = run(capsys, "GetCustomersList", "--provider", "twilio-frontline",
                       "--target-url", "http://127.0.0.1:9/unused",
                       "--hook-url", f"crm={receiver}/twilio-frontline/crm")
    assert code == 0, out
    assert f"POST {receiver}/twilio-frontline/crm" in out


def test_get_method_carries_the_parameters_in_the_query(capsys: pytest.CaptureFixture[str],
                                                        receiver: str) -> None:
    code, out, _ = run(capsys, "onMessageAdded", "--provider", "twilio-conversations",
                       "--target-url", f"{receiver}/twilio-conversations", "--method", "get")
    assert code == 0, out
    assert f"GET {receiver}/twilio-conversations?" in out
    assert "EventType=onMessageAdded" in out


# --------------------------------------------------------------------------- modes


def test_bad_signature_is_refused_and_that_conforms(capsys: pytest.CaptureFixture[str],
                                                    receiver: str) -> None:
    # decision: the mode's expectation is a 4xx; a receiver that refuses behaved as it should
    code, out, _ = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--bad-signature")
    assert code == 0, out
    assert "signed with a wrong secret" in out
    assert "WRONG secret" in out
    assert re.search(r"response: HTTP 4\d\d", out)
    assert "refused the wrongly signed delivery, as it should (expected 4xx)" in out


def test_bad_signature_does_not_need_the_secret(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch,
                                                receiver: str) -> None:
    monkeypatch.delenv("HOOKPROOF_SECRET")
    code, out, _ = run(capsys, "onMessageAdded", "--provider", "twilio-conversations",
                       "--target-url", f"{receiver}/twilio-conversations", "--bad-signature")
    assert code == 0, out
    assert re.search(r"response: HTTP 4\d\d", out)


def test_bad_signature_accepted_exits_1(capsys: pytest.CaptureFixture[str],
                                        lax_receiver: str) -> None:
    code, out, _ = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{lax_receiver}/varda", "--bad-signature")
    assert code == 1, out
    assert "HTTP 200" in out
    assert "expected: 4xx" in out
    assert "a delivery signed with another secret was accepted" in out


def test_stale_on_varda_expects_4xx(capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    code, out, _ = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--stale")
    assert code == 0, out
    assert "outside the 300 s replay window" in out
    assert re.search(r"response: HTTP 4\d\d", out)
    assert "refused the stale delivery, as it should (expected 4xx)" in out


def test_stale_accepted_exits_1(capsys: pytest.CaptureFixture[str], lax_receiver: str) -> None:
    code, out, _ = run(capsys, "conversation.ended", "--provider", "operator",
                       "--target-url", f"{lax_receiver}/operator", "--stale")
    assert code == 1, out
    assert "expected: 4xx" in out


def test_stale_on_twilio_is_unusable(capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    code, out, err = run(capsys, "onMessageAdd", "--provider", "twilio-conversations",
                         "--target-url", f"{receiver}/twilio-conversations", "--stale")
    assert code == 2
    assert out == ""
    line = one_line_error(err)
    assert "--stale" in line and "no timestamp" in line
    assert "varda" in line  # where it applies


def test_duplicate_three_answers_that_agree(capsys: pytest.CaptureFixture[str],
                                            receiver: str) -> None:
    code, out, _ = run(capsys, "GetCustomerDetailsByCustomerId", "--provider",
                       "twilio-frontline", "--target-url", f"{receiver}/twilio-frontline",
                       "--duplicate", "3")
    assert code == 0, out
    assert len(re.findall(r"^response: HTTP 200", out, re.M)) == 3
    assert "-- delivery 3 of 3 (retry)" in out
    keys = re.findall(r"^dedupe key: (\S+)", out, re.M)
    assert len(keys) == 3 and len(set(keys)) == 1
    signatures = re.findall(r"^signature: X-Twilio-Signature: (\S+)", out, re.M)
    assert len(set(signatures)) == 3  # re-signed: each retry carries the next RetryCount
    assert "duplicates: 3 answers (HTTP 200, HTTP 200, HTTP 200): they agree" in out


def test_duplicate_needs_two_copies(capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    code, _, err = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--duplicate", "1")
    assert code == 2
    assert "--duplicate" in one_line_error(err)


def test_modes_are_exclusive(capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["send", "conversation.created", "--provider", "varda", "--target-url",
              f"{receiver}/varda", "--stale", "--bad-signature"])
    assert exit_info.value.code == 2
    capsys.readouterr()


# --------------------------------------------------------------------------- --data


def test_data_json_file(capsys: pytest.CaptureFixture[str], receiver: str,
                        tmp_path: Path) -> None:
    example = example_named("varda", "contact.created", "minimal")
    assert example is not None
    data = tmp_path / "mine.json"
    document = json.loads(json.dumps(example.payload))
    document["data"]["name"] = "Zoë from the test"
    data.write_text(json.dumps(document, indent=2), encoding="utf-8")
    code, out, _ = run(capsys, "contact.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--data", data)
    assert code == 0, out
    assert f"payload: your payload {data}" in out
    assert "Zoë from the test" in out
    assert "HTTP 200" in out


def test_data_raw_form_body(capsys: pytest.CaptureFixture[str], receiver: str,
                            tmp_path: Path) -> None:
    example = example_named("twilio-conversations", "onMessageAdded", "minimal")
    assert example is not None
    from hookproof.transport.encoding import encode_form

    data = tmp_path / "captured.form"
    data.write_bytes(encode_form(example.payload) + b"\n")
    code, out, _ = run(capsys, "onMessageAdded", "--provider", "twilio-conversations",
                       "--target-url", f"{receiver}/twilio-conversations", "--data", data)
    assert code == 0, out
    assert "EventType=onMessageAdded" in out


def test_data_json_object_for_a_form_provider(capsys: pytest.CaptureFixture[str],
                                              receiver: str, tmp_path: Path) -> None:
    example = example_named("twilio-conversations", "onMessageAdded", "minimal")
    assert example is not None
    data = tmp_path / "params.json"
    data.write_text(json.dumps(example.payload), encoding="utf-8")
    code, out, _ = run(capsys, "onMessageAdded", "--provider", "twilio-conversations",
                       "--target-url", f"{receiver}/twilio-conversations", "--data", data)
    assert code == 0, out
    assert "Content-Type: application/x-www-form-urlencoded" in out


def test_data_payload_naming_another_event_is_noted(capsys: pytest.CaptureFixture[str],
                                                    receiver: str, tmp_path: Path) -> None:
    example = example_named("varda", "contact.created", "minimal")
    assert example is not None
    data = tmp_path / "contact.json"
    data.write_text(json.dumps(example.payload), encoding="utf-8")
    _, out, _ = run(capsys, "contact.updated", "--provider", "varda",
                    "--target-url", f"{receiver}/varda", "--data", data)
    assert "note: the payload names the event 'contact.created'" in out


@pytest.mark.parametrize("content", [None, b"", b"{not json", b"[1, 2]"])
def test_unusable_data_exits_2(capsys: pytest.CaptureFixture[str], receiver: str,
                               tmp_path: Path, content: bytes | None) -> None:
    data = tmp_path / "payload.json"
    if content is not None:
        data.write_bytes(content)
    provider, event = ("varda", "contact.created") if content != b"[1, 2]" else (
        "twilio-conversations", "onMessageAdded")
    code, out, err = run(capsys, event, "--provider", provider, "--target-url",
                         f"{receiver}/{provider}", "--data", data)
    assert code == 2
    assert out == ""
    assert "--data" in one_line_error(err)


# --------------------------------------------------------------------------- unusable input


def test_unknown_event_exits_2(capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    code, out, err = run(capsys, "conversation.exploded", "--provider", "varda",
                         "--target-url", f"{receiver}/varda")
    assert code == 2
    assert out == ""
    line = one_line_error(err)
    assert "unknown event 'conversation.exploded'" in line
    assert "conversation.created" in line


def test_unknown_provider_exits_2(capsys: pytest.CaptureFixture[str], receiver: str) -> None:
    code, _, err = run(capsys, "x", "--provider", "nope", "--target-url", receiver)
    assert code == 2
    assert "unknown provider 'nope'" in one_line_error(err)


def test_unknown_example_lists_the_names(capsys: pytest.CaptureFixture[str],
                                         receiver: str) -> None:
    code, _, err = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--example", "biggest")
    assert code == 2
    line = one_line_error(err)
    assert "known examples: documented, maximal, minimal" in line
    code, _, err = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--example", "minimall")
    assert code == 2 and "did you mean minimal or maximal?" in one_line_error(err)


def test_unreachable_target_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = run(capsys, "conversation.created", "--provider", "varda",
                         "--target-url", f"http://127.0.0.1:{port}/varda")
    assert code == 2
    assert out == ""
    line = one_line_error(err)
    assert f"cannot reach http://127.0.0.1:{port}/varda" in line
    assert "connection refused" in line


def test_missing_secret_exits_2(capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch, receiver: str) -> None:
    monkeypatch.delenv("HOOKPROOF_SECRET")
    code, _, err = run(capsys, "conversation.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda")
    assert code == 2
    assert "HOOKPROOF_SECRET is unset" in one_line_error(err)


@pytest.mark.parametrize("argv", [
    ["--target-url", "ftp://example.com/hook"],
    ["--target-url", "http://127.0.0.1:9/x", "--hook-url", "crm=http://127.0.0.1:9/crm"],
    ["--target-url", "http://127.0.0.1:9/x", "--method", "GET"],
])
def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, "conversation.created", "--provider", "varda", *argv)
    assert code == 2
    one_line_error(err)


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["send", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out
    for line in ("0  the answer is what the platform expects", "1  it is not",
                 "2  unusable input"):
        assert line in out
    for flag in ("--bad-signature", "--stale", "--duplicate", "--data", "--example",
                 "--secret-env", "--signing-url", "--hook-url", "--insecure", "--ca-bundle"):
        assert flag in out


def test_the_secret_is_scrubbed_even_from_a_payload_that_holds_it(
        capsys: pytest.CaptureFixture[str], receiver: str, tmp_path: Path) -> None:
    example = example_named("varda", "contact.created", "minimal")
    assert example is not None
    document = json.loads(json.dumps(example.payload))
    document["data"]["name"] = f"pasted by mistake: {SECRET}"
    data = tmp_path / "leaky.json"
    data.write_text(json.dumps(document), encoding="utf-8")
    code, out, _ = run(capsys, "contact.created", "--provider", "varda",
                       "--target-url", f"{receiver}/varda", "--data", data)
    assert code == 0, out
    assert "pasted by mistake: [secret]" in out  # run() asserts SECRET itself is absent
