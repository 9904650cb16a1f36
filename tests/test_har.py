"""``hookproof validate capture.har``: webhook deliveries picked out of captured traffic."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.examples import canonical_example
from hookproof.catalogue.files import validate_files
from hookproof.catalogue.har import deliveries
from hookproof.cli import main
from hookproof.reach.builder import DeliveryBuilder
from hookproof.signing import WireRequest

SECRET = "har-test-secret"
URL = "https://hooks.example.com/hooks/{provider}"


def _entry(request: WireRequest) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "startedDateTime": "2026-03-25T18:30:00.000Z",
        "request": {
            "method": request.method,
            "url": request.url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in request.headers.items()],
            "queryString": [],
        },
        "response": {"status": 200, "headers": [], "content": {"size": 0, "text": "{}"}},
    }
    if request.body:
        content_type = request.header("Content-Type") or "application/octet-stream"
        entry["request"]["postData"] = {"mimeType": content_type,
                                        "text": request.body.decode("utf-8")}
    return entry


def _noise() -> list[dict[str, Any]]:
    return [
        _entry(WireRequest("GET", "https://hooks.example.com/favicon.ico", {"Accept": "*/*"})),
        _entry(WireRequest("POST", "https://hooks.example.com/api/login",
                           {"Content-Type": "application/json"},
                           b'{"user": "jane", "password": "x"}')),
        _entry(WireRequest("POST", "https://hooks.example.com/upload",
                           {"Content-Type": "text/plain"}, b"\x00 not a payload")),
        _entry(WireRequest("OPTIONS", "https://hooks.example.com/hooks", {})),
    ]


def _har(tmp_path: Path, provider_id: str, plan: list[tuple[str, str]]) -> Path:
    """A HAR file: noise, then one delivery per (event, variant) of ``plan``."""
    provider = load_catalogue().provider(provider_id)
    builder = DeliveryBuilder(provider, target_url=URL.format(provider=provider_id),
                              secret=SECRET)
    entries = _noise()[:2]
    for event_name, variant in plan:
        event = provider.event(event_name)
        payload = dict(canonical_example(provider_id, event_name).payload)
        if variant == "drift":
            payload["hookproof_new_field"] = "1"
        elif variant == "error":
            required = load_catalogue().schema(event.request)["required"]
            missing = next(k for k in required if k not in provider.event_fields)
            del payload[missing]
        secret = "not-the-secret" if variant == "forged" else SECRET
        entries.append(_entry(builder.build(event, payload, secret=secret).request))
    entries += _noise()[2:]
    path = tmp_path / "capture.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test"},
                                        "entries": entries}}), encoding="utf-8")
    return path


VARDA_PLAN = [
    ("conversation.created", "clean"),
    ("conversation.created", "drift"),
    ("conversation.created", "drift"),
    ("message.created", "clean"),
    ("message.created", "error"),
    ("call.ended", "forged"),
    ("contact.created", "clean"),
]


def _table(out: str) -> dict[str, tuple[int, int, int]]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("event "))
    rows = {}
    for line in lines[start + 1:-1]:
        name, payloads, errors, drift = line.split()
        rows[name] = (int(payloads), int(errors), int(drift))
    return rows


def test_deliveries_skip_unrelated_entries(tmp_path: Path) -> None:
    har = _har(tmp_path, "varda", VARDA_PLAN)
    found = list(deliveries(har, load_catalogue().provider("varda")))
    assert [c.event for c in found] == [event for event, _ in VARDA_PLAN]
    assert [c.index for c in found] == list(range(3, 3 + len(VARDA_PLAN)))


def test_per_event_errors_drift_and_signatures(tmp_path: Path) -> None:
    har = _har(tmp_path, "varda", VARDA_PLAN)
    out = io.StringIO()
    code = validate_files([har], provider="varda", event=None, out=out, secret=SECRET)
    text = out.getvalue()
    assert code == 1
    assert _table(text) == {
        "call.ended": (1, 0, 0),
        "contact.created": (1, 0, 0),
        "conversation.created": (3, 0, 2),
        "message.created": (2, 1, 0),
    }
    assert f"{har}:8: signature: mismatch" in text
    assert text.count(": signature:") == 1
    assert text.splitlines()[-1] == ("7 payload(s): 1 error(s) in 1, 2 drift finding(s) in 2, "
                                     "1 bad signature(s)")


def test_without_secret_signatures_are_not_checked(tmp_path: Path) -> None:
    har = _har(tmp_path, "varda", [("conversation.created", "forged")])
    out = io.StringIO()
    assert validate_files([har], provider="varda", event=None, out=out) == 0
    assert "signature" not in out.getvalue()


def test_form_provider_har(tmp_path: Path) -> None:
    plan = [("onMessageAdded", "clean"), ("onMessageAdded", "drift"),
            ("onConversationAdd", "error"), ("onParticipantAdded", "forged")]
    har = _har(tmp_path, "twilio-conversations", plan)
    out = io.StringIO()
    code = validate_files([har], provider="twilio-conversations", event=None, out=out,
                          secret=SECRET)
    assert code == 1
    assert _table(out.getvalue()) == {
        "onConversationAdd": (1, 1, 0),
        "onMessageAdded": (2, 0, 1),
        "onParticipantAdded": (1, 0, 0),
    }
    assert out.getvalue().count(": signature: mismatch") == 1


def test_cli_reads_har_with_secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    har = _har(tmp_path, "varda", VARDA_PLAN)
    monkeypatch.setenv("HAR_SECRET", SECRET)
    assert main(["validate", str(har), "--provider", "varda", "--secret-env",
                 "HAR_SECRET"]) == 1
    out = capsys.readouterr().out
    assert "1 bad signature(s)" in out
    monkeypatch.delenv("HAR_SECRET")
    assert main(["validate", str(har), "--provider", "varda", "--secret-env",
                 "HAR_SECRET"]) == 2


def test_not_a_har_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.har"
    bad.write_text('{"nope": 1}', encoding="utf-8")
    assert main(["validate", str(bad), "--provider", "varda"]) == 2
    assert "not a HAR file" in capsys.readouterr().err
