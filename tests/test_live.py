"""``hookproof listen`` and ``hookproof replay`` end to end, on loopback.

The test plays the platform: it signs bundled examples for ``listen``'s URL (one delivery left
unsigned, one with a field the contract does not know), ``listen`` forwards them to the
reference receiver or to a broken one and grades the answers; the recorded file is then
replayed against both receivers and gets the same verdicts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from hookproof.catalogue import Event, Provider, load_catalogue
from hookproof.catalogue.examples import canonical_example
from hookproof.reach.builder import DeliveryBuilder
from hookproof.receiver.answers import Answer, ReferenceAnswerer
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig
from hookproof.reports.document import schema
from receivers import run_in_thread, unused_port, wait_until_answers

SECRET = "live-traffic-secret-77a1"
VARDA = load_catalogue().provider("varda")
REFERENCE = ReferenceAnswerer()


def fails_on_messages(provider: Provider, event: Event, payload: Any) -> Answer:
    if event.name == "message.created":
        return Answer(500, b'{"error":"boom"}')
    return REFERENCE(provider, event, payload)


@pytest.fixture(scope="module")
def receivers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = ReceiverConfig(db=tmp_path_factory.mktemp("live") / "db.sqlite3",
                          secrets={"varda": SECRET}, providers=("varda",),
                          replay_protection=False)  # the same deliveries replayed on purpose
    good, stop_good = run_in_thread(create_app(base))
    broken, stop_broken = run_in_thread(create_app(dataclasses.replace(
        base, db=base.db.with_name("broken.sqlite3"), answerer=fails_on_messages)))
    # --forward-to is a base: the path a delivery came to (/varda) is appended
    yield {"reference": good, "broken": broken}
    stop_good()
    stop_broken()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPROOF_")}
    env["HOOKPROOF_SECRET"] = SECRET
    return env


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookproof.cli", *args], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=120, check=False)


def play_the_platform(url: str) -> list[requests.Response]:
    """Four deliveries: two signed examples, one unsigned, one with drift."""
    builder = DeliveryBuilder(VARDA, target_url=url, secret=SECRET)
    message, contact = VARDA.event("message.created"), VARDA.event("contact.created")
    with_drift = dict(canonical_example("varda", contact.name).payload, future_field="new")
    deliveries = [
        builder.build(message, canonical_example("varda", message.name).payload).request,
        builder.build(contact, canonical_example("varda", contact.name).payload).request,
        builder.build(message, canonical_example("varda", message.name).payload).request
        .without_headers("X-Varda-Signature"),
        builder.build(contact, with_drift).request,
    ]
    return [requests.post(r.url, data=r.body, headers=dict(r.headers), timeout=30)
            for r in deliveries]


def start_listen(tmp_path: Path, forward_to: str, record: Path,
                 reports: Path) -> tuple[subprocess.Popen[str], str]:
    """``hookproof listen`` for 4 deliveries, once it answers; (process, its varda URL)."""
    port = unused_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hookproof.cli", "listen", "--provider", "varda", "--port",
         str(port), "--forward-to", forward_to, "--record", str(record), "--max-deliveries",
         "4", "--reports", str(reports)],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until_answers(f"http://127.0.0.1:{port}/")
    return process, f"http://127.0.0.1:{port}/varda"


def listen(tmp_path: Path, forward_to: str, name: str) -> tuple[int, str, dict[str, Any], Path]:
    record = tmp_path / f"{name}.jsonl"
    process, url = start_listen(tmp_path, forward_to, record, tmp_path / name)
    answers = play_the_platform(url)
    output, _ = process.communicate(timeout=60)
    report = json.loads((tmp_path / name / "conformance.json").read_text(encoding="utf-8"))
    statuses = [a.status_code for a in answers]
    assert statuses[1] == (503 if name == "down" else 200)  # the receiver's answer, unchanged
    return process.returncode, output, report, record


def test_listen_grades_live_deliveries_and_records_them(tmp_path: Path,
                                                        receivers: dict[str, str]) -> None:
    code, output, report, record = listen(tmp_path, receivers["reference"], "good")
    lines = [line for line in output.splitlines() if re.match(r"\d\d:\d\d:\d\d  ", line)]
    assert len(lines) == 4, output
    assert "signature ok" in lines[0] and lines[0].rstrip().endswith("ok")
    assert "signature BAD (missing)" in lines[2]
    assert "  0 error(s)   1 drift" in lines[3]
    assert "signature BAD (missing)" in lines[2] and lines[2].rstrip().endswith("ok")
    # in columns: events of other lengths, another signature verdict, other times
    for column in ("signature ", "contract ", "-> "):
        assert len({line.index(column) for line in lines}) == 1, (column, lines)
    assert len({line.rindex("  ") for line in lines}) == 1, lines  # the verdict's column
    assert code == 0  # the unsigned delivery was refused, as it must be
    assert not sorted(Draft202012Validator(schema()).iter_errors(report), key=str)
    (target,) = report["targets"]
    rows = {row["event"]: row for row in target["live"]}
    assert rows["message.created"] == {"event": "message.created", "deliveries": 2,
                                       "bad_signatures": 1, "contract_errors": 0, "drift": 0,
                                       "receiver_failures": 0}
    assert rows["contact.created"]["drift"] == 1
    kept = record.read_text(encoding="utf-8")
    assert SECRET not in kept
    assert len(kept.splitlines()) == 4
    signed = ["x-varda-signature" in {k.lower() for k in json.loads(line)["headers"]}
              for line in kept.splitlines()]
    assert signed == [True, True, False, True]  # kept, to be verified again
    html = (tmp_path / "good" / "conformance.html").read_text(encoding="utf-8")
    assert 'class="live"' in html


def test_listen_and_replay_agree_on_a_broken_receiver(tmp_path: Path,
                                                      receivers: dict[str, str]) -> None:
    _, _output, report, record = listen(tmp_path, receivers["broken"], "broken")
    (target,) = report["targets"]
    rows = {row["event"]: row for row in target["live"]}
    # the signed message gets a 500; the unsigned one is refused (400), as it must be
    assert rows["message.created"]["receiver_failures"] == 1
    assert rows["contact.created"]["receiver_failures"] == 0
    # the recording, replayed: re-signed for each receiver, the same verdicts
    against_broken = _cli(tmp_path, "replay", str(record), "--provider", "varda",
                          "--target-url", receivers["broken"] + "/varda")
    verdicts = [line for line in against_broken.stdout.splitlines() if line.startswith("#")]
    assert len(verdicts) == 4
    # the signed message fails again; the recorded unsigned one is sent unsigned, and its
    # refusal is right
    assert "fail:" in verdicts[0] and "message.created" in verdicts[0], verdicts
    assert "refused the unsigned delivery" in verdicts[2], verdicts
    assert [v for v in verdicts if "fail:" in v] == verdicts[:1], verdicts
    assert against_broken.returncode == 1
    against_reference = _cli(tmp_path, "replay", str(record), "--provider", "varda",
                             "--target-url", receivers["reference"] + "/varda",
                             "--concurrency", "2")
    assert against_reference.returncode == 0, against_reference.stdout
    assert "4 deliveries, 0 failing" in against_reference.stdout
    assert "Traceback" not in against_broken.stderr + against_reference.stderr


def test_replay_as_recorded_and_export_examples(tmp_path: Path,
                                                receivers: dict[str, str]) -> None:
    _, _, _, record = listen(tmp_path, receivers["reference"], "recorded")
    as_recorded = _cli(tmp_path, "replay", str(record), "--provider", "varda", "--target-url",
                       receivers["reference"] + "/varda", "--as-recorded")
    # byte for byte: Varda signs no URL, so the recorded signatures still verify; the
    # recorded unsigned delivery is refused again, which is what the platform needs
    assert as_recorded.returncode == 0, as_recorded.stdout
    assert "4 deliveries, 0 failing" in as_recorded.stdout
    assert "refused the unsigned delivery" in as_recorded.stdout
    exported = _cli(tmp_path, "replay", str(record), "--provider", "varda",
                    "--export-examples", str(tmp_path / "examples"))
    assert exported.returncode == 0, exported.stderr
    files = sorted((tmp_path / "examples" / "varda").rglob("recorded-*.json"))
    assert len(files) == 4
    assert "drift: $.future_field" in exported.stdout


def test_replay_keeps_a_recorded_forgery_forged(tmp_path: Path,
                                                receivers: dict[str, str]) -> None:
    """A receiver that verifies nothing accepts the recorded unsigned delivery and a recorded
    forgery: replayed (re-signed for the target, or byte for byte), each is still what it
    was, and accepting it is the failure; never re-signed into a genuine delivery."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    _, _, _, record = listen(tmp_path, receivers["reference"], "forged")
    lines = record.read_text(encoding="utf-8").splitlines()
    forged = json.loads(lines[0])
    forged["headers"] = {k: ("v1,bm90IHRoZSBzaWduYXR1cmU=" if k.lower() == "x-varda-signature"
                             else v) for k, v in forged["headers"].items()}
    forged["signature"] = "BAD (mismatch)"
    record.write_text("\n".join([*lines, json.dumps(forged)]) + "\n", encoding="utf-8")

    async def anything(request: Any) -> Response:
        return Response(b"{}", 200, media_type="application/json")

    lax, stop = run_in_thread(Starlette(routes=[Route("/varda", anything, methods=["POST"])]))
    try:
        for mode in ((), ("--as-recorded",)):
            replayed = _cli(tmp_path, "replay", str(record), "--provider", "varda",
                            "--target-url", lax + "/varda", *mode)
            verdicts = [v for v in replayed.stdout.splitlines() if v.startswith("#")]
            assert replayed.returncode == 1, replayed.stdout
            assert "5 deliveries, 2 failing" in replayed.stdout, replayed.stdout
            assert "fail: an unsigned delivery was accepted" in verdicts[2], verdicts
            assert "fail: a delivery whose signature did not verify (mismatch) was accepted" \
                in verdicts[4], verdicts
    finally:
        stop()
    # the reference receiver refuses both, as it must: a pass
    right = _cli(tmp_path, "replay", str(record), "--provider", "varda", "--target-url",
                 receivers["reference"] + "/varda")
    assert right.returncode == 0 and "5 deliveries, 0 failing" in right.stdout, right.stdout


def test_listen_answers_503_when_the_receiver_is_down(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{unused_port()}"
    _, output, report, _ = listen(tmp_path, down, "down")
    assert output.count("is down") == 4
    (target,) = report["targets"]
    assert sum(row["receiver_failures"] for row in target["live"]) == 4


def test_a_har_record_replays_too(tmp_path: Path, receivers: dict[str, str]) -> None:
    record = tmp_path / "live.har"
    process, url = start_listen(tmp_path, receivers["reference"], record, tmp_path / "har")
    play_the_platform(url)
    process.communicate(timeout=60)
    har = json.loads(record.read_text(encoding="utf-8"))
    assert len(har["log"]["entries"]) == 4 and SECRET not in record.read_text()
    validated = _cli(tmp_path, "validate", str(record), "--provider", "varda")
    assert "4 payload(s)" in validated.stdout, validated.stdout + validated.stderr
    replayed = _cli(tmp_path, "replay", str(record), "--provider", "varda", "--target-url",
                    receivers["reference"] + "/varda")
    assert replayed.returncode == 0, replayed.stdout
    assert "4 deliveries, 0 failing" in replayed.stdout


def test_a_long_session_keeps_flat_memory_and_a_bounded_record(
        receivers: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attacker posting big bad-signature bodies for hours: the session keeps the last
    deliveries one by one (the counts whole, the verdict failing), the record stops at its
    limit with one line, and no body stays in memory."""
    import io

    from hookproof.traffic import listen

    monkeypatch.setattr(listen, "KEPT_DELIVERIES", 5)
    out = io.StringIO()
    record = tmp_path / "record.jsonl"
    listener = listen.Listener(VARDA, forward_to=receivers["reference"], secret=SECRET,
                               record=record, out=out, record_limit=64 * 1024)
    body = json.dumps({"event": "message.created", "pad": "x" * 20_000}).encode()
    for _ in range(12):  # forged: refused by the receiver, so graded ok, but bad signatures
        listener.handle("POST", "/varda", "http://127.0.0.1/varda",
                        {"Content-Type": "application/json", "X-Varda-Signature": "t=1,v1=00"},
                        body)
    assert listener.delivered == 12 and listener.bad_signatures == 12
    assert len(listener.graded) == 5
    assert all(g.record == {} for g in listener.graded)
    assert record.stat().st_size <= 64 * 1024
    assert out.getvalue().count("reached its limit (0.0625 MiB, --record-limit)") == 1
    report = listener.finish(tmp_path / "reports")
    [section] = report["targets"]
    assert section["live"][0]["deliveries"] == 12


def test_a_session_that_dropped_failures_still_fails(
        receivers: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from hookproof.traffic import listen

    monkeypatch.setattr(listen, "KEPT_DELIVERIES", 2)
    listener = listen.Listener(VARDA, forward_to=receivers["broken"], secret=SECRET,
                               out=io.StringIO())
    builder = DeliveryBuilder(VARDA, target_url="http://127.0.0.1/varda", secret=SECRET)
    for name in ("message.created", "message.created", "conversation.created",
                 "conversation.created", "conversation.created"):
        request = builder.build(VARDA.event(name), canonical_example("varda", name).payload
                                ).request
        listener.handle("POST", "/varda", "http://127.0.0.1/varda", request.headers,
                        request.body)
    assert listener.failed == 2 and listener.failed_dropped == 2
    assert {g.verdict for g in listener.graded} == {"ok"}
    report = listener.finish(tmp_path / "reports")
    assert report["conformant"] is False


def test_max_deliveries_is_exact_when_more_arrive_at_once(tmp_path: Path,
                                                          receivers: dict[str, str]) -> None:
    """``--max-deliveries 4`` with eight deliveries at once: four are forwarded, graded and
    recorded; the others are answered 503 unforwarded (the platform retries them later) or
    find the session closed."""
    import concurrent.futures

    record = tmp_path / "many.jsonl"
    process, url = start_listen(tmp_path, receivers["reference"], record, tmp_path / "many")
    builder = DeliveryBuilder(VARDA, target_url=url, secret=SECRET)
    message = VARDA.event("message.created")
    requests_ = [builder.build(message, canonical_example("varda", message.name).payload).request
                 for _ in range(8)]

    def post(request: Any) -> int | None:
        try:
            return requests.post(request.url, data=request.body, headers=dict(request.headers),
                                 timeout=30).status_code
        except requests.RequestException:
            return None  # the session had ended

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, requests_))
    process.communicate(timeout=60)
    assert statuses.count(200) == 4, statuses
    assert all(s in (200, 503, None) for s in statuses), statuses
    assert len(record.read_text(encoding="utf-8").splitlines()) == 4
    report = json.loads((tmp_path / "many" / "conformance.json").read_text(encoding="utf-8"))
    assert sum(row["deliveries"] for row in report["targets"][0]["live"]) == 4


def test_listen_send_and_the_suite_give_one_verdict(tmp_path: Path) -> None:
    """A pre-event hook answered ``200 OK`` in text (Express's ``res.sendStatus(200)``): the
    suite calls it recommended, so ``send`` conforms, and ``listen`` grades the same live
    delivery the same way (it used to fail it as "not JSON")."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def text_ok(request: Any) -> Response:
        return Response(b"OK", 200, media_type="text/plain")

    receiver, stop = run_in_thread(Starlette(routes=[Route("/hook", text_ok,
                                                           methods=["POST"])]))
    env = dict(_env(), HOOKPROOF_SECRET=SECRET)
    try:
        sent = subprocess.run([sys.executable, "-m", "hookproof.cli", "send", "onMessageAdd",
                               "--provider", "twilio-conversations", "--target-url",
                               receiver + "/hook"], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        port = unused_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "hookproof.cli", "listen", "--provider",
             "twilio-conversations", "--port", str(port), "--forward-to", receiver,
             "--max-deliveries", "1", "--reports", str(tmp_path / "one")],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_until_answers(f"http://127.0.0.1:{port}/")
        via = subprocess.run([sys.executable, "-m", "hookproof.cli", "send", "onMessageAdd",
                              "--provider", "twilio-conversations", "--target-url",
                              f"http://127.0.0.1:{port}/hook"], env=env, capture_output=True,
                             text=True, timeout=60, check=False)
        output, _ = process.communicate(timeout=60)
    finally:
        stop()
    assert via.returncode == 0, via.stdout + via.stderr
    [line] = [line for line in output.splitlines() if re.match(r"\d\d:\d\d:\d\d  ", line)]
    assert line.rstrip().endswith(")") and "ok (recommended: " in line, output
    assert process.returncode == 0, output
