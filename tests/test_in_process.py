"""In-process targets (``--target-app``), the stubbed platform API, and the fixtures a team
uses in its own tests (``hookproof_app``, ``hookproof_deliver``).

The apps of ``tests/apps`` are written the way teams write them: Flask on twilio's
``RequestValidator`` and helper library, FastAPI with a lifespan, a Django view. Each passes
the whole suite in-process; the Flask one fails, with a finding naming the call, when its
platform calls cannot be answered; a FastAPI app that raises fails with its own traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from broken import SECRET, SECRET_ENV, SuiteRun, run_suite_at
from hookproof.catalogue.platform_stub import BlockedCall, PlatformGuard, PlatformStub, StubRequest
from hookproof.catalogue.validation import validate_resource
from hookproof.errors import UsageError
from hookproof.signing import WireRequest
from hookproof.transport.inprocess import AppTransport, interface_of, load_app
from hookproof.transport.scope import DeliveryScope, entered
from receivers import wait_until_answers

TESTS = Path(__file__).parent
ACCOUNT = "AC7f3e9a2b5c1d4e8f9a0b1c2d3e4f5a6b"
CONVERSATION = "CH9a1b2c3d4e5f60718293a4b5c6d7e8f9"
PARTICIPANT = "MB5e6f708192a3b4c5d6e7f8091a2b3c4d"
MESSAGE = "IM4d5e6f708192a3b4c5d6e7f8091a2b3c"
DELIVERY = {"AccountSid": ACCOUNT, "ConversationSid": CONVERSATION,
            "ParticipantSid": PARTICIPANT, "MessageSid": MESSAGE, "Identity": "alice",
            "Attributes": '{"customer_id":"7"}', "Body": "Your order ships today.",
            "Index": "35", "MessagingBinding.Address": "+15555550123"}
API = "https://conversations.twilio.com/v1"
FRONTLINE_HOOKS = [f"--hook-url={group}=/hooks/{group}"
                   for group in ("crm", "outgoing", "templates", "routing")]


def _required(run: SuiteRun) -> list[tuple[str, str | None, str]]:
    return sorted((f["check"], f["event"], f["title"])
                  for f in run.report["targets"][0]["failures"] if f["severity"] == "required")


# -- the platform stub ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url", "resource", "status"), [
    ("GET", f"{API}/Conversations/{CONVERSATION}", "Conversation", 200),
    ("POST", f"{API}/Conversations/{CONVERSATION}", "Conversation", 200),
    ("POST", f"{API}/Conversations", "Conversation", 201),
    ("GET", f"{API}/Conversations/{CONVERSATION}/Participants/{PARTICIPANT}", "Participant",
     200),
    ("POST", f"{API}/Conversations/{CONVERSATION}/Participants/{PARTICIPANT}", "Participant",
     200),
    ("POST", f"{API}/Conversations/{CONVERSATION}/Participants", "Participant", 201),
    ("GET", f"{API}/Conversations/{CONVERSATION}/Messages/{MESSAGE}", "Message", 200),
    ("POST", f"{API}/Services/IS2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b/Conversations/{CONVERSATION}"
     f"/Messages", "Message", 201),
    ("GET", f"{API}/Users/alice", "User", 200),
    ("POST", f"{API}/Users/US708192a3b4c5d6e7f8091a2b3c4d5e6f", "User", 200),
])
def test_stub_answers_are_valid_resources(method: str, url: str, resource: str,
                                          status: int) -> None:
    """Fetch, update and create answer a body valid against the resource's contract."""
    form = {"Attributes": '{"updated":true}'} if method == "POST" else {}
    got, body = PlatformStub().answer(StubRequest(method, url, form), DELIVERY)
    assert got == status
    result = validate_resource(body, provider="twilio-conversations", resource=resource)
    assert result.ok and not result.drift, (result.errors, result.drift, body)
    if method == "POST":
        assert body is not None and body["attributes"] == '{"updated":true}'


def test_stub_answers_agree_with_the_delivery() -> None:
    """The participant of the delivery being judged comes back with its own identity,
    attributes and binding; another participant gets none of them."""
    stub = PlatformStub()
    url = f"{API}/Conversations/{CONVERSATION}/Participants/{PARTICIPANT}"
    _, body = stub.answer(StubRequest("GET", url, {}), DELIVERY)
    assert body is not None
    assert (body["sid"], body["conversation_sid"], body["account_sid"]) == (
        PARTICIPANT, CONVERSATION, ACCOUNT)
    assert body["identity"] == "alice" and body["attributes"] == '{"customer_id":"7"}'
    assert body["messaging_binding"]["address"] == "+15555550123"
    other = "MB" + "0" * 32
    _, body = stub.answer(StubRequest("GET", url.replace(PARTICIPANT, other), {}), DELIVERY)
    assert body is not None and body["sid"] == other
    assert body["identity"] is None and body["attributes"] == "{}"
    _, message = stub.answer(StubRequest(
        "GET", f"{API}/Conversations/{CONVERSATION}/Messages/{MESSAGE}", {}), DELIVERY)
    assert message is not None and (message["body"], message["index"]) == (
        "Your order ships today.", 35)


def test_stub_lists_empty_pages_and_answers_404_in_twilio_shape() -> None:
    stub = PlatformStub()
    status, page = stub.answer(StubRequest(
        "GET", f"{API}/Conversations/{CONVERSATION}/Participants", {}), DELIVERY)
    assert status == 200 and page is not None
    assert page["participants"] == [] and page["meta"]["key"] == "participants"
    assert page["meta"]["next_page_url"] is None
    for url in (f"{API}/Services", f"{API}/Conversations/{CONVERSATION}/Participants/alice",
                "https://api.twilio.com/2010-04-01/Accounts.json"):
        status, error = stub.answer(StubRequest("GET", url, {}), DELIVERY)
        assert status == 404 and error is not None
        assert (error["code"], error["status"]) == (20404, 404)
        assert error["more_info"].startswith("https://www.twilio.com/docs/errors/")
    status, _ = stub.answer(StubRequest(
        "DELETE", f"{API}/Conversations/{CONVERSATION}/Participants/{PARTICIPANT}", {}), {})
    assert status == 204


def test_frontline_user_resource() -> None:
    status, body = PlatformStub().answer(StubRequest(
        "POST", "https://frontline-api.twilio.com/v1/Users/alice", {"State": "active"}), {})
    assert status == 200
    result = validate_resource(body, provider="twilio-frontline", resource="User")
    assert result.ok and not result.drift, result.errors
    assert body is not None and body["identity"] == "alice"


@pytest.fixture
def loopback_server() -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 answering ``loopback`` to every GET."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"loopback")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_the_twilio_library_is_answered_and_every_call_recorded(loopback_server: str) -> None:
    """Through twilio's own helper library: a fetch and an update answered by the stub, a
    call to another host blocked (nothing reaches the network), loopback let through; each
    recorded on the delivery's scope; everything back to normal once the guard is left."""
    from twilio.rest import Client

    original_send = requests.Session.send
    guard = PlatformGuard()
    scope = DeliveryScope(fields=DELIVERY)
    with guard.active(), entered(scope):
        client = Client(ACCOUNT, "token")
        participant = client.conversations.v1.conversations(CONVERSATION).participants(
            PARTICIPANT).fetch()
        assert participant.identity == "alice"
        updated = participant.update(attributes='{"customer_id":"8"}')
        assert updated.attributes == '{"customer_id":"8"}'
        with pytest.raises(BlockedCall):
            requests.get("https://example.com/hook", timeout=5)
        assert requests.get(loopback_server, timeout=5).text == "loopback"
    assert [c.describe() for c in scope.calls] == [
        f"GET conversations.twilio.com/v1/Conversations/{CONVERSATION}/Participants/"
        f"{PARTICIPANT} -> HTTP 200 (platform stub)",
        f"POST conversations.twilio.com/v1/Conversations/{CONVERSATION}/Participants/"
        f"{PARTICIPANT} -> HTTP 200 (platform stub)",
        "GET example.com/hook -> failed: blocked: not the platform's API (the stub lets "
        "nothing out)",
    ]
    assert requests.Session.send is original_send
    assert requests.get(loopback_server, timeout=5).status_code == 200


def test_stub_off_records_the_failed_call() -> None:
    """``--no-platform-stub``: calls go out (here to a proxy that refuses, as offline CI
    does) and are still recorded, with why they failed."""
    from twilio.rest import Client

    guard = PlatformGuard(stub=False)
    scope = DeliveryScope(fields=DELIVERY)
    old = os.environ.get("HTTPS_PROXY")
    os.environ["HTTPS_PROXY"] = "http://127.0.0.1:9"
    try:
        with guard.active(), entered(scope), pytest.raises(requests.RequestException):
            Client(ACCOUNT, "token").conversations.v1.conversations(CONVERSATION).fetch()
    finally:
        if old is None:
            os.environ.pop("HTTPS_PROXY")
        else:
            os.environ["HTTPS_PROXY"] = old
    [call] = scope.calls
    assert not call.stubbed and call.status is None and call.failed
    assert call.error == "connection refused"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_stub_serve_answers_the_twilio_library_on_loopback() -> None:
    """``hookproof stub serve``: the helper library pointed at it (its domains' base URLs)
    gets the in-process stub's answers; a port in use is a usage error (2)."""
    from twilio.rest import Client

    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "hookproof.cli", "stub", "serve",
                                "--port", str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{base}/v1/Conversations")
        client = Client(ACCOUNT, "token")
        client.conversations.base_url = base
        client.frontline_api.base_url = f"{base}/frontline"
        participant = client.conversations.v1.conversations(CONVERSATION).participants(
            PARTICIPANT).fetch()
        assert participant.sid == PARTICIPANT
        assert client.frontline_api.v1.users("bob").fetch().identity == "bob"
        taken = subprocess.run([sys.executable, "-m", "hookproof.cli", "stub", "serve",
                                "--port", str(port)], capture_output=True, text=True,
                               timeout=30, check=False)
        assert taken.returncode == 2, taken.stderr
        assert f"--port {port}: cannot listen" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"GET conversations.twilio.com/v1/Conversations/{CONVERSATION}/Participants/" \
           f"{PARTICIPANT} -> 200" in output


# -- loading an app ----------------------------------------------------------------------------


def test_interfaces_are_told_apart() -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from flask import Flask
    from starlette.applications import Starlette

    async def asgi(scope: Any, receive: Any, send: Any) -> None: ...

    def wsgi(environ: Any, start_response: Any) -> list[bytes]:
        return []

    assert interface_of(Flask("x")) == "wsgi"
    assert interface_of(Starlette()) == "asgi"
    assert interface_of(asgi) == "asgi"
    assert interface_of(wsgi) == "wsgi"
    assert interface_of(WSGIHandler) == "wsgi"
    with pytest.raises(UsageError, match="not a WSGI or ASGI app"):
        interface_of(42)


@pytest.mark.parametrize(("spec", "message"), [
    ("no_colon", "give module:attr"),
    ("no_such_module_here:app", "no module named 'no_such_module_here'"),
    ("apps.flask_frontline:nothing", "has no attribute 'nothing'"),
    ("apps.flask_frontline:ACCOUNT_SID", "not a WSGI or ASGI app"),
])
def test_bad_target_app_is_a_usage_error(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_app(spec, str(TESTS))


def test_an_app_whose_import_fails_shows_its_own_traceback(tmp_path: Path) -> None:
    (tmp_path / "crashing_import.py").write_text("import json\nVALUE = 1 / 0\n")
    with pytest.raises(UsageError) as raised:
        load_app("crashing_import:app", str(tmp_path))
    text = str(raised.value)
    assert "importing crashing_import failed" in text
    assert 'crashing_import.py", line 2' in text and "ZeroDivisionError" in text
    assert "hookproof" not in text.split("failed:", 1)[1]


def test_factory_app_and_lifespan_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``module:factory()`` is called; an ASGI app's startup runs before the first delivery
    (the FastAPI app opens its database there) and its shutdown when the transport closes."""
    marker = tmp_path / "shutdown"
    monkeypatch.setenv("HOOKPROOF_TEST_SECRET", SECRET)
    monkeypatch.setenv("FASTAPI_VARDA_SHUTDOWN_FILE", str(marker))
    app = load_app("apps.fastapi_varda:create_app()", str(TESTS))
    transport = AppTransport(app)
    try:
        exchange = transport.exchange(WireRequest(
            "GET", "http://localhost/webhooks/varda/effects?key=k", {}, b""), 10, 1 << 20)
        assert (exchange.status, json.loads(exchange.body)) == (200, {"count": 0})
        assert not marker.exists()
    finally:
        transport.close()
    assert marker.read_text() == "shut down\n"


# -- the suite in process -----------------------------------------------------------------------


def test_reference_receiver_in_process_under_xdist(tmp_path: Path) -> None:
    """The reference receiver as an ASGI app, two pytest-xdist workers each with its own
    copy: every check passes, and the report names the in-process URL."""
    run = run_suite_at("/twilio-conversations", "twilio-conversations", tmp_path,
                       app="hookproof.receiver.app:create_app()",
                       effects_url="/twilio-conversations/effects",
                       extra_args=["--fuzz-examples", "2", "-p", "xdist", "-n", "2"],
                       env_extra={"HOOKPROOF_SECRET": SECRET})
    assert run.returncode == 0, run.output[-3000:]
    target = run.report["targets"][0]
    assert target["url"] == "http://localhost/twilio-conversations"
    summary = target["summary"]
    assert summary["checks"] > 300 and summary["pass"] == summary["checks"], summary


def test_flask_frontline_passes_with_the_platform_stub(tmp_path: Path) -> None:
    """Flask + ``RequestValidator`` whose ``onParticipantAdded`` fetches and updates the
    participant with twilio's library: the whole suite passes in process, and the report
    counts the stubbed calls it made."""
    run = run_suite_at("/hooks", "twilio-frontline", tmp_path,
                       app="apps.flask_frontline:create_app()", effects_url="/hooks/effects",
                       extra_args=FRONTLINE_HOOKS)
    assert run.returncode == 0, run.output[-3000:]
    assert _required(run) == []
    calls = {(c["call"], c["outcome"]): c["count"]
             for c in run.report["targets"][0]["platform_calls"]}
    route = "conversations.twilio.com/v1/Conversations/{sid}/Participants/{sid}"
    assert calls[(f"GET {route}", "HTTP 200 (platform stub)")] >= 5
    assert calls[(f"POST {route}", "HTTP 200 (platform stub)")] >= 5


def test_flask_frontline_fails_clearly_with_the_stub_off(tmp_path: Path) -> None:
    """The same receiver with ``--no-platform-stub`` in an offline CI (a proxy that refuses
    connections): every delivery of ``onParticipantAdded`` is a required failure whose hint
    names the failed platform call, and the report and terminal show the call and the
    receiver's traceback."""
    run = run_suite_at("/hooks", "twilio-frontline", tmp_path,
                       app="apps.flask_frontline:create_app()", effects_url="/hooks/effects",
                       extra_args=[*FRONTLINE_HOOKS, "--no-platform-stub"],
                       env_extra={"HTTPS_PROXY": "http://127.0.0.1:9"})
    assert run.returncode == 1, run.output[-3000:]
    required = _required(run)
    assert required and {event for _, event, _ in required} == {"onParticipantAdded"}
    failure = next(f for f in run.report["targets"][0]["failures"]
                   if f["check"] == "signature.valid_accepted")
    assert "failed platform call" in failure["hint"]
    assert "the platform stub is off (--no-platform-stub)" in failure["hint"]
    [call] = failure["platform_calls"]
    assert call["url"] == (f"https://conversations.twilio.com/v1/Conversations/{CONVERSATION}"
                           f"/Participants/{PARTICIPANT}")
    assert call["error"] == "connection refused" and call["stubbed"] is False
    assert "team_receivers.py" in failure["receiver_output"]
    assert "in participant_added" in failure["receiver_output"]
    assert "while answering, the receiver called:" in run.output
    markdown = (tmp_path / "conformance.md").read_text()
    assert "While answering, the receiver called:" in markdown


def test_a_handler_failing_on_the_stubs_404_is_told_which_call_failed(tmp_path: Path) -> None:
    """A SID that does not exist (a schema-invalid generated one) gets the stub's 404, as the
    platform would answer; the handler lets the library's error become a 500. Whatever check
    meets it, its hint names the failed platform call before its own advice."""
    run = run_suite_at("/hooks", "twilio-frontline", tmp_path,
                       app="apps.flask_trusting_sids:create_app()",
                       extra_args=["--events", "onParticipantAdded", "-k",
                                   "invalid_handled or generated_accepted or valid_accepted"])
    assert run.returncode == 1, run.output[-3000:]
    failures = [f for f in run.report["targets"][0]["failures"] if f["severity"] == "required"]
    assert failures, run.output[-3000:]
    for failure in failures:
        assert failure["hint"].startswith("the handler's call to the platform failed (GET "), \
            failure["hint"]
        assert "the platform stub answered it so" in failure["hint"]
        assert any(c["stubbed"] and c["status"] == 404 for c in failure["platform_calls"])


def test_fastapi_varda_and_django_pass_in_process(tmp_path: Path) -> None:
    varda = run_suite_at("/webhooks/varda", "varda", tmp_path / "varda",
                         app="apps.fastapi_varda:create_app()",
                         effects_url="/webhooks/varda/effects")
    assert varda.returncode == 0, varda.output[-3000:]
    assert _required(varda) == []
    django = run_suite_at("/twilio/conversations", "twilio-conversations", tmp_path / "django",
                          app="apps.django_conversations:create_app()",
                          effects_url="/twilio/conversations/effects")
    assert django.returncode == 0, django.output[-3000:]
    assert _required(django) == []
    assert django.report["conformant"] is True


def test_an_exception_the_app_raises_is_a_required_failure_with_its_traceback(
        tmp_path: Path) -> None:
    """FastAPI re-raises a handler's exception after answering 500: it reaches hookproof as
    the exception, and the finding shows the receiver's own frames (not hookproof's)."""
    run = run_suite_at("/webhooks/varda", "varda", tmp_path,
                       app="apps.fastapi_varda:create_unbounded_app()",
                       effects_url="/webhooks/varda/effects",
                       events=["conversation.created"])
    assert run.returncode == 1, run.output[-3000:]
    [failure] = [f for f in run.report["targets"][0]["failures"] if f["severity"] == "required"]
    assert failure["check"] == "signature.malformed_header_rejected"
    assert failure["title"] == "the receiver's handler raised an exception"
    assert failure["got"].startswith("the app raised ValueError: Exceeds the limit")
    trace = failure["receiver_output"]
    assert 'fastapi_varda.py", line' in trace and "in _verified" in trace
    assert "frames in " in trace  # the framework's middleware stack is one line
    assert "/hookproof/" not in trace and "httpx" not in trace
    assert "the receiver's traceback (in process):" in run.output


# -- the fixtures in a team's own tests ----------------------------------------------------------


def _team_project(root: Path, app_factory: str) -> None:
    module, _, factory = app_factory.partition(":")
    (root / "conftest.py").write_text(textwrap.dedent(f"""
        import pytest
        from {module} import {factory}

        @pytest.fixture(scope="session")
        def hookproof_app():
            return {factory}()
    """))
    (root / "pytest.ini").write_text(textwrap.dedent(f"""
        [pytest]
        testpaths = tests
        hookproof_provider = twilio-conversations
        hookproof_target_url = /twilio/conversations
        hookproof_effects_url = /twilio/conversations/effects
        hookproof_secret_env = {SECRET_ENV}
    """))
    (root / "tests").mkdir()
    (root / "tests" / "test_ours.py").write_text(textwrap.dedent("""
        def test_message_added_conforms(hookproof_deliver):
            delivered = hookproof_deliver("onMessageAdded", Body="hello")
            assert delivered.conforms, delivered
            assert delivered.status == 200

        def test_own_payload_file(hookproof_deliver, tmp_path):
            payload = tmp_path / "add.json"
            payload.write_text('{"EventType": "onMessageAdd", "ConversationSid": '
                               '"CH9a1b2c3d4e5f60718293a4b5c6d7e8f9", "Body": "hi", '
                               '"Author": "alice", "AccountSid": '
                               '"AC7f3e9a2b5c1d4e8f9a0b1c2d3e4f5a6b", "Source": "SDK", '
                               '"RetryCount": "0", "ClientIdentity": "alice"}')
            delivered = hookproof_deliver("onMessageAdd", payload=payload)
            assert delivered.status == 200
    """))


def _conftest_returning(root: Path, module: str) -> None:
    """A root conftest whose ``hookproof_app`` is ``module``'s ``app``."""
    (root / "conftest.py").write_text(textwrap.dedent(f"""
        import pytest
        from {module} import app

        @pytest.fixture(scope="session")
        def hookproof_app():
            return app
    """))


def _pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{SECRET_ENV: SECRET}, PYTHONPATH=str(TESTS),
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "hookproof.plugin", "-p",
                           "no:cacheprovider", "-q", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_plain_pytest_with_a_hookproof_app_fixture_runs_both(tmp_path: Path) -> None:
    """A conftest returning the team's Django app, the provider in the ini: plain ``pytest``
    runs the team's own tests (``hookproof_deliver``) and the conformance suite, in process."""
    _team_project(tmp_path, "apps.django_conversations:create_app")
    run = _pytest_in(tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 passed" not in run.stdout  # more than the team's two: the suite ran too
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert report["conformant"] is True
    assert report["targets"][0]["summary"]["checks"] > 300
    named = _pytest_in(tmp_path, "tests/test_ours.py")
    assert named.returncode == 0, named.stdout[-3000:]
    assert "2 passed" in named.stdout  # a path given: the team's tests alone


def test_hookproof_deliver_gives_the_suites_verdict(tmp_path: Path) -> None:
    """``hookproof_deliver`` against an app that fails: not conforming, with the finding;
    an unknown event is a clear failure, never a traceback."""
    (tmp_path / "broken_app.py").write_text(textwrap.dedent("""
        from flask import Flask
        app = Flask("broken")

        @app.post("/twilio/conversations")
        def hook():
            return "down", 503
    """))
    (tmp_path / "test_verdicts.py").write_text(textwrap.dedent("""
        import pytest
        from broken_app import app as broken

        def test_broken(hookproof_deliver):
            delivered = hookproof_deliver("onMessageAdded")
            assert not delivered.conforms
            assert delivered.status == 503
            assert delivered.failure.severity == "required"
            assert "not accepted" in delivered.verdict or "failed" in delivered.verdict

        def test_unknown_event(hookproof_deliver):
            hookproof_deliver("onNoSuchThing")
    """))
    _conftest_returning(tmp_path, "broken_app")
    run = _pytest_in(tmp_path, "test_verdicts.py", "--target-url", "/twilio/conversations",
                     "--provider", "twilio-conversations", "--secret-env", SECRET_ENV)
    assert "1 passed, 1 failed" in run.stdout or "1 failed, 1 passed" in run.stdout, (
        run.stdout[-3000:])
    assert "onNoSuchThing" in run.stdout and "Traceback" not in run.stdout


def test_a_bad_target_app_stops_the_run_with_a_usage_error(tmp_path: Path) -> None:
    env = dict(os.environ, **{SECRET_ENV: SECRET}, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "hookproof.plugin", "-q",
                          "-p", "no:cacheprovider", "--target-app", "no_such_app:app",
                          "--provider", "varda", "--secret-env", SECRET_ENV], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "--target-app 'no_such_app:app': no module named 'no_such_app'" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_signing_url_applies_in_process(tmp_path: Path) -> None:
    """Behind ProxyFix the receiver verifies over the public URL: with ``--signing-url`` (and
    the proxy headers hookproof adds) it passes in process; without, every genuine delivery
    is refused as a forgery is, and the run says why once."""
    proxied = run_suite_at("/hooks", "twilio-conversations", tmp_path / "signed",
                           app="apps.flask_conversations:create_proxied_app()",
                           effects_url="/hooks/effects",
                           signing_url="https://hooks.example.com/hooks",
                           extra_args=["--fuzz-examples", "0"])
    assert proxied.returncode == 0, proxied.output[-3000:]
    assert _required(proxied) == []
    unsigned = run_suite_at("/hooks", "twilio-conversations", tmp_path / "plain",
                            app="apps.flask_conversations:create_proxied_app()",
                            effects_url="/hooks/effects",
                            extra_args=["--fuzz-examples", "0", "--events", "onMessageAdded"])
    assert unsigned.returncode == 0, unsigned.output[-3000:]  # no proxy headers: plain URL
    wrong = run_suite_at("/hooks", "twilio-conversations", tmp_path / "wrong",
                         app="apps.flask_conversations:create_proxied_app()",
                         effects_url="/hooks/effects",
                         signing_url="https://elsewhere.example.com/hooks", extra_args=[
                             "--fuzz-examples", "0", "--events", "onMessageAdded",
                             "--no-forwarded"])
    assert wrong.returncode == 1
    assert "every correctly signed delivery was refused" in wrong.report["targets"][0].get(
        "diagnosis", "")


def test_the_baseline_works_in_process(tmp_path: Path) -> None:
    """An in-process app's known failure is recorded and then baselined, as for a URL."""
    baseline = tmp_path / "baseline.json"
    common: dict[str, Any] = {
        "app": "apps.fastapi_varda:create_unbounded_app()",
        "effects_url": "/webhooks/varda/effects", "events": ["conversation.created"]}
    recorded = run_suite_at("/webhooks/varda", "varda", tmp_path / "record", **common,
                            extra_args=["--fuzz-examples", "0", "--hookproof-baseline",
                                        str(baseline), "--hookproof-baseline-update"])
    assert recorded.returncode == 0, recorded.output[-2000:]
    assert "signature.malformed_header_rejected" in baseline.read_text()
    again = run_suite_at("/webhooks/varda", "varda", tmp_path / "again", **common,
                         extra_args=["--fuzz-examples", "0", "--hookproof-baseline",
                                     str(baseline)])
    assert again.returncode == 0, again.output[-2000:]
    known = json.loads(baseline.read_text())["known_failures"]
    assert again.report["targets"][0]["summary"]["baselined"] == len(known) >= 1
    assert again.report["targets"][0]["summary"]["fail_required"] == 0


def test_fuzzing_an_app_that_raises_prints_one_traceback_per_failure(tmp_path: Path) -> None:
    """Flask logs every exception its handler raises, and fuzzing sends dozens while it
    shrinks one failure: the terminal shows the finding's traceback and the first logged one,
    not a flood (it showed 35 for two failures)."""
    # under CI pytest prints a string report whole in its short summary too: the finding's
    # headline is what it gets there, so CI logs show each finding once
    run = run_suite_at("/varda", "varda", tmp_path, app="apps.flask_raising:create_app()",
                       events=["message.created"], extra_args=["-k", "fuzz"],
                       env_extra={"CI": "true"})
    assert run.returncode == 1, run.output[-3000:]
    summary = run.output.split("short test summary info", 1)[1].splitlines()[1:]
    assert [line.split(" - ", 1)[1] for line in summary if line.startswith("FAILED")] == [
        "[fuzz.generated_accepted] a schema-valid generated payload was not accepted "
        "(generated, seed 0)",
        "[fuzz.invalid_handled] a schema-invalid generated payload crashed the receiver "
        "(generated, seed 0)"], \
        summary
    failures = run.report["targets"][0]["failures"]
    assert {f["check"] for f in failures} == {"fuzz.generated_accepted", "fuzz.invalid_handled"}
    assert all("KeyError: 'crm_id'" in (f.get("receiver_output") or "") for f in failures)
    # one per failure, in the finding; the log's own copies are one line each
    assert run.output.count("Traceback (most recent call last)") <= len(failures)
    assert "[the app's traceback: shown with the failure above]" in run.output


def _plain_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``pytest`` command itself, as a team runs it: unlike ``python -m pytest`` it puts
    neither the working directory nor the rootdir on ``sys.path``."""
    command = Path(sys.executable).with_name("pytest")
    if not command.is_file():
        pytest.skip(f"no pytest command beside {sys.executable}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({SECRET_ENV: SECRET, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return subprocess.run([str(command), "-p", "hookproof.plugin", "-p", "no:cacheprovider",
                           "-q", "--provider", "varda", "--secret-env", SECRET_ENV, *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_target_app_is_found_in_the_rootdir_and_the_working_directory(tmp_path: Path) -> None:
    app = "def app(environ, start_response):\n    start_response('200 OK', [])\n    return []\n"
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "root_hooks.py").write_text(app)
    here = tmp_path / "services"
    here.mkdir()
    (here / "local_hooks.py").write_text(app)
    for spec in ("root_hooks:app", "local_hooks:app"):
        found = _plain_pytest(here, "--target-app", spec, "--collect-only")
        assert found.returncode == 0, found.stdout[-2000:] + found.stderr[-2000:]
        assert "test_signature[valid_accepted-" in found.stdout
    missing = _plain_pytest(here, "--target-app", "lokal_hooks:app", "--collect-only")
    assert missing.returncode == 4, missing.stdout[-2000:] + missing.stderr[-2000:]
    assert "no module named 'lokal_hooks'" in missing.stderr
    assert f"the rootdir {tmp_path.resolve()}" in missing.stderr
    assert f"the working directory {here.resolve()}" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_failing_team_test_shows_each_delivery_whole(tmp_path: Path) -> None:
    """``assert delivered.conforms, delivered`` as the README writes it, on an app that
    breaks: pytest's output holds the finding, what was sent, what came back and the
    reproduction, though pytest cuts an assertion message's repr to one line; a test that
    fails on its own assertion about a conforming delivery shows the exchange too."""
    (tmp_path / "team_app.py").write_text(textwrap.dedent("""
        from flask import Flask
        app = Flask("team")

        @app.post("/twilio/conversations")
        def hook():
            return {"error": "database is down"}, 500

        @app.post("/twilio/fine")
        def fine():
            return "", 200
    """))
    _conftest_returning(tmp_path, "team_app")
    (tmp_path / "test_team.py").write_text(textwrap.dedent("""
        def test_message_added(hookproof_deliver):
            delivered = hookproof_deliver("onMessageAdded", Body="hello")
            assert delivered.conforms, delivered
    """))
    run = _pytest_in(tmp_path, "test_team.py", "--target-url", "/twilio/conversations",
                     "--provider", "twilio-conversations", "--secret-env", SECRET_ENV)
    out = run.stdout
    assert "1 failed" in out, out[-3000:]
    assert "hookproof delivery 1 of 1: twilio-conversations onMessageAdded does NOT conform" \
        in out, out[-3000:]
    assert "sent:     POST http://localhost/twilio/conversations" in out
    assert "got:      HTTP 500" in out and "database is down" in out
    assert "HTTP 500" in out.split("AssertionError", 1)[-1].splitlines()[0]  # the repr too
    assert SECRET not in out + run.stderr
    # nothing serves http://localhost: the reproduction is a `hookproof send` line for the app
    # served; run as printed (the app served on a free port instead of 8000), it reproduces
    label = f"reproduce, with the app served at http://127.0.0.1:8000 (signed anew with " \
            f"${SECRET_ENV}):"
    assert label in out, out[-3000:]
    line = out.split(label, 1)[1].splitlines()[1].strip()
    assert line.startswith("printf %s ") and " && hookproof send onMessageAdded " in line
    from flask import Flask

    from team_receivers import serve_wsgi

    served = Flask("served")
    served.add_url_rule("/twilio/conversations", "hook",
                        lambda: ({"error": "database is down"}, 500), methods=["POST"])
    base, stop = serve_wsgi(served)
    try:
        command = line.replace("http://127.0.0.1:8000", base).replace(
            "hookproof send", f"{sys.executable} -m hookproof.cli send")
        again = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                               text=True, timeout=60, check=False,
                               env=dict(os.environ, **{SECRET_ENV: SECRET}))
    finally:
        stop()
    assert again.returncode == 1, again.stdout + again.stderr  # the same finding, served
    assert "HTTP 500" in again.stdout and "Body=hello" in (tmp_path / "delivery.body").read_text()


def test_a_team_test_on_an_app_that_raises_shows_one_traceback(tmp_path: Path) -> None:
    """Flask logs the exception it turns into a 500; the delivery's section shows the app's
    traceback already: pytest's captured log keeps its other lines and one marker."""
    (tmp_path / "raising_app.py").write_text(textwrap.dedent("""
        from flask import Flask, request
        app = Flask("raising")

        @app.post("/twilio/conversations")
        def hook():
            return {"n": int(request.form["Body"])}
    """))
    _conftest_returning(tmp_path, "raising_app")
    (tmp_path / "test_raising.py").write_text(textwrap.dedent("""
        def test_message_added(hookproof_deliver):
            assert hookproof_deliver("onMessageAdded", Body="hello").conforms
    """))
    run = _pytest_in(tmp_path, "test_raising.py", "--target-url", "/twilio/conversations",
                     "--provider", "twilio-conversations", "--secret-env", SECRET_ENV)
    out = run.stdout
    assert "1 failed" in out, out[-3000:]
    assert out.count("Traceback (most recent call last)") == 1, out
    assert "invalid literal for int()" in out.split("hookproof delivery 1 of 1", 1)[1]
    assert "Exception on /twilio/conversations [POST]" in out  # the log's own line stays
    assert "[the app's traceback: shown with the failure above]" in out


def test_hookproof_deliver_follows_strict_as_the_suite_does(tmp_path: Path) -> None:
    """A text ``OK`` to a pre-event hook is a recommended finding: it conforms, unless the run
    is ``--hookproof-strict``, where a recommended finding fails the suite too."""
    (tmp_path / "text_app.py").write_text(textwrap.dedent("""
        from flask import Flask
        app = Flask("text")

        @app.post("/twilio/conversations")
        def hook():
            return "OK", 200, {"Content-Type": "text/plain"}
    """))
    _conftest_returning(tmp_path, "text_app")
    (tmp_path / "test_text.py").write_text(textwrap.dedent("""
        def test_message_add(hookproof_deliver):
            delivered = hookproof_deliver("onMessageAdd")
            assert delivered.failure is not None
            assert delivered.failure.severity == "recommended"
            assert delivered.conforms, delivered
    """))
    args = ("test_text.py", "--target-url", "/twilio/conversations", "--provider",
            "twilio-conversations", "--secret-env", SECRET_ENV)
    lenient = _pytest_in(tmp_path, *args)
    assert "1 passed" in lenient.stdout, lenient.stdout[-3000:]
    strict = _pytest_in(tmp_path, *args, "--hookproof-strict")
    assert "1 failed" in strict.stdout, strict.stdout[-3000:]
