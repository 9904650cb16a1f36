"""The pytest plugin, driven through pytester: activation, collection, usage errors, probes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# The in-process runs (pytester.runpytest_inprocess) drop every module first imported during a
# run once it ends; import what a run uses up front, or a later run gets a second copy of
# `requests` whose classes no longer match ("You can only merge into CookieJar").
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig
from hookproof.receiver.server import BackgroundServer
from receivers import clean_hookproof_environment

pytest_plugins = ["pytester"]

SECRET = "plugin-test-secret"
NOWHERE = "http://127.0.0.1:9/varda"  # never contacted: the runs below only collect
# Other installed plugins (schemathesis pulls in hypothesis) only slow every run down.
QUIET = ("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")
EVENT = "conversation.created"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HOOKPROOF_* setting of the developer's shell leaks into the runs; a secret is set."""
    clean_hookproof_environment(monkeypatch, SECRET)


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    """The reference receiver (varda only) on 127.0.0.1; yields the varda endpoint URL."""
    config = ReceiverConfig(secrets={"varda": SECRET}, providers=("varda",),
                            replay_protection=False)  # many runs, one receiver
    with BackgroundServer(create_app(config)) as server:
        yield f"{server.url}/varda"


def run(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    if subprocess:
        return pytester.runpytest_subprocess(*QUIET, *args, timeout=60)
    return pytester.runpytest_inprocess(*QUIET, *args)


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def assert_usage_error(result: pytest.RunResult, *fragments: str) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = output(result)
    assert "Traceback" not in text
    lines = [line for line in result.stderr.lines if line.startswith("ERROR: hookproof:")]
    assert len(lines) == 1, text
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# -- without --target-url ---------------------------------------------------------------------


def test_without_target_url_the_plugin_stays_out_of_the_way(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        def test_one():
            assert 1 + 1 == 2

        def test_settings_inactive(hookproof_settings):
            assert not hookproof_settings.active

        def test_target_skips(hookproof_target):
            raise AssertionError("not reached")
    """)
    result = run(pytester, "-q", subprocess=True)
    result.assert_outcomes(passed=2, skipped=1)
    text = output(result)
    assert "conformance" not in text and "hookproof at" not in text
    assert "- hookproof -" not in text
    assert not (pytester.path / "reports").exists()
    # the project's own tests ran, not the bundled suite
    assert "test_signature" not in text


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--fixtures", subprocess=True)
    assert result.ret == 0
    text = result.stdout.str()
    for name, doc in [
        ("hookproof_settings", "The resolved hookproof settings"),
        ("hookproof_target", "The receiver under test"),
        ("hookproof_check", "The check this test runs"),
    ]:
        assert name in text
        assert doc in text


def test_options_are_in_help(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    text = result.stdout.str()
    assert "hookproof: webhook receiver conformance" in text
    for flag in ("--target-url", "--provider", "--hookproof-budget", "--hook-url",
                 "--hookproof-strict", "--effects-url"):
        assert flag in text


# -- collecting the bundled suite -------------------------------------------------------------


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::" in line]


def test_no_path_collects_the_bundled_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_not_collected(): pass")
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--collect-only",
                 "-q", subprocess=True)
    assert result.ret == 0, output(result)
    ids = collected(result)
    text = "\n".join(ids)
    assert "test_signature[missing_rejected-conversation.created]" in text
    assert "test_idempotency[concurrent_duplicates-call.ended]" in text
    assert "test_payload[unknown_event_handled-provider]" in text
    assert "test_response[within_budget-contact.updated]" in text
    assert "test_not_collected" not in text
    assert len(ids) > 100
    return None


def test_pyargs_collects_the_bundled_suite(pytester: pytest.Pytester) -> None:
    plain = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--collect-only",
                "-q")
    pyargs = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--collect-only",
                 "-q", "--pyargs", "hookproof.suite")
    assert pyargs.ret == 0, output(pyargs)
    ids = [line.rsplit("::", 1)[1] for line in collected(pyargs)]
    assert "test_signature[missing_rejected-conversation.created]" in ids
    assert sorted(ids) == sorted(line.rsplit("::", 1)[1] for line in collected(plain))


def test_events_limit_the_cases(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--collect-only",
                 "-q", "--events", "conversation.created,call.ended")
    ids = collected(result)
    assert ids
    for line in ids:
        case = line.split("[", 1)[1]
        assert case.endswith(("-conversation.created]", "-call.ended]", "-provider]")), line
    assert any(line.endswith("-call.ended]") for line in ids)
    again = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--collect-only",
                "-q", "--events", "conversation.created", "--events", "call.ended")
    assert collected(again) == ids


def test_settings_come_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"""
        [pytest]
        hookproof_target_url = {NOWHERE}
        hookproof_provider = varda
        hookproof_events =
            call.ended
    """)
    result = run(pytester, "--collect-only", "-q")
    ids = collected(result)
    assert ids and all(line.endswith(("-call.ended]", "-provider]")) for line in ids)


# -- usage errors: exit code 4, one line, no traceback ------------------------------------------


def test_unknown_provider(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", NOWHERE, "--provider", "nosuch", subprocess=True)
    line = assert_usage_error(result, "unknown provider 'nosuch'", "known providers:")
    for provider in ("operator", "twilio-conversations", "varda"):
        assert provider in line


def test_unknown_event(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--events",
                 "conversation.created,nosuch.event")
    assert_usage_error(result, "unknown event 'nosuch.event'", "varda", "conversation.created")


def test_unknown_event_in_expect(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--expect",
                 "nosuch.event=4xx")
    assert_usage_error(result, "unknown event 'nosuch.event'")


@pytest.mark.parametrize(("args", "fragments"), [
    (("--provider", "vardaa"), ("unknown provider 'vardaa'", "did you mean varda?")),
    (("--provider", "Varda"), ("unknown provider 'Varda'", "did you mean varda?")),
    (("--provider", "varda", "--events", "message.create"),
     ("unknown event 'message.create'", "did you mean message.created")),
    (("--provider", "varda", "--expect", "call_ended=4xx"),
     ("unknown event 'call_ended'", "did you mean call.ended")),
    (("--provider", "twilio-frontline", "--hook-url", f"crn={NOWHERE}"),
     ("no hook group 'crn'", "did you mean crm?")),
    (("--provider", "twilio-conversations", "--method", "PSOT"),
     ("'PSOT' is not one of GET, POST", "did you mean POST?")),
])
def test_a_near_miss_gets_the_nearest_name(pytester: pytest.Pytester, args: tuple[str, ...],
                                           fragments: tuple[str, ...]) -> None:
    """A typo answers with the nearest names, in one line, not the list of every name."""
    result = run(pytester, "--target-url", NOWHERE, *args)
    line = assert_usage_error(result, *fragments)
    assert "known " not in line.replace("unknown ", "")


def test_missing_secret_names_the_variable(pytester: pytest.Pytester,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKPROOF_SECRET")
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda")
    assert_usage_error(result, "HOOKPROOF_SECRET", "unset")
    monkeypatch.setenv("MY_VARDA_SECRET", "")
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--secret-env",
                 "MY_VARDA_SECRET")
    assert_usage_error(result, "MY_VARDA_SECRET", "empty")


def test_unknown_hook_group(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--hook-url",
                 "nosuchgroup=https://hooks.example.com/x")
    assert_usage_error(result, "--hook-url", "'nosuchgroup'")


def test_method_the_provider_does_not_send(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda", "--method", "GET")
    assert_usage_error(result, "--method GET", "varda sends POST")


def test_target_url_without_provider(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", NOWHERE)
    assert_usage_error(result, "--target-url needs --provider")


def test_bad_value_from_environment_names_it(pytester: pytest.Pytester,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPROOF_BUDGET", "fast")
    result = run(pytester, "--target-url", NOWHERE, "--provider", "varda")
    assert_usage_error(result, "from environment variable HOOKPROOF_BUDGET", "'fast'")


def test_bad_value_from_ini_names_it(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        hookproof_concurrency = many
    """)
    # even without --target-url: a bad setting is an error, never silently ignored
    result = run(pytester)
    assert_usage_error(result, "from ini option hookproof_concurrency", "'many'")


def test_bad_target_url_names_the_command_line(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target-url", "localhost:8000/varda", "--provider", "varda")
    assert_usage_error(result, "--target-url (from command line --target-url)",
                       "not an http:// or https:// URL")


# -- running against the reference receiver ---------------------------------------------------


EFFECTS_CONFTEST = """
import json
import urllib.parse
import urllib.request

CALLS = []


def pytest_hookproof_effects(config, provider, event, key):
    CALLS.append(key)
    {body}
"""

FROM_RECEIVER = """
    url = "{url}/effects?" + urllib.parse.urlencode({{"key": key}})
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)["count"]
"""


def test_effects_hook_in_conftest_is_the_probe(pytester: pytest.Pytester, receiver: str) -> None:
    pytester.makeconftest(EFFECTS_CONFTEST.format(body=FROM_RECEIVER.format(url=receiver)))
    result = run(pytester, "--target-url", receiver, "--provider", "varda", "--events", EVENT,
                 "-k", "idempotency", "-rA")
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=2)


def test_effects_hook_counting_twice_fails(pytester: pytest.Pytester, receiver: str) -> None:
    pytester.makeconftest(EFFECTS_CONFTEST.format(body="return 2"))
    result = run(pytester, "--target-url", receiver, "--provider", "varda", "--events", EVENT,
                 "-k", "idempotency")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=2)
    text = output(result)
    assert "processed 2 times" in text
    assert "2 copies of one delivery were processed 2 times" in text
    assert "5 copies of one delivery were processed 2 times" in text
    assert "Traceback" not in text


def test_without_probe_idempotency_is_not_observed(pytester: pytest.Pytester,
                                                   receiver: str) -> None:
    result = run(pytester, "--target-url", receiver, "--provider", "varda", "--events", EVENT,
                 "-k", "idempotency or valid_accepted", "--hookproof-reports", "out", "-rs",
                 subprocess=True)
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=1, skipped=2)
    text = output(result)
    assert "not observed" in text
    assert "--effects-url" in text and "pytest_hookproof_effects" in text
    assert "1 pass" in text and "2 not_observed" in text
    report = json.loads((pytester.path / "out" / "conformance.json").read_text())
    (section,) = report["targets"]
    outcomes = {r["check"]: r["outcome"] for r in section["results"]}
    assert outcomes == {
        "idempotency.sequential_duplicate": "not_observed",
        "idempotency.concurrent_duplicates": "not_observed",
        "signature.valid_accepted": "pass",
    }
    assert section["summary"]["not_observed"] == 2 and section["summary"]["pass"] == 1
    assert (pytester.path / "out" / "conformance.md").is_file()
    assert (pytester.path / "out" / "conformance.html").is_file()


def test_effects_hook_answering_none_is_not_observed(pytester: pytest.Pytester,
                                                     receiver: str) -> None:
    pytester.makeconftest(EFFECTS_CONFTEST.format(body="return None"))
    result = run(pytester, "--target-url", receiver, "--provider", "varda", "--events", EVENT,
                 "-k", "idempotency", "-rs")
    result.assert_outcomes(skipped=2)
    assert "could not tell" in output(result)


# -- severity and --hookproof-strict ------------------------------------------------------------


class RefusesUnknownEvents(BaseHTTPRequestHandler):
    """Accepts every delivery except an event type it does not know (answers 422)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            event = json.loads(body).get("event", "")
        except ValueError:
            event = ""
        status = 422 if str(event).endswith(".archived") else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def strict_receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusesUnknownEvents)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/varda"
    server.shutdown()
    server.server_close()


def test_recommended_failure_is_xfail_without_strict(pytester: pytest.Pytester,
                                                     strict_receiver: str) -> None:
    result = run(pytester, "--target-url", strict_receiver, "--provider", "varda", "--events",
                 EVENT, "-k", "unknown_event_handled", "-rx")
    assert result.ret == 0, output(result)
    result.assert_outcomes(xfailed=1)
    text = output(result)
    assert "recommended:" in text and "fails with --hookproof-strict" in text
    assert "1 fail (recommended)" in text


def test_recommended_failure_fails_with_strict(pytester: pytest.Pytester,
                                               strict_receiver: str) -> None:
    result = run(pytester, "--target-url", strict_receiver, "--provider", "varda", "--events",
                 EVENT, "-k", "unknown_event_handled", "--hookproof-strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    text = output(result)
    assert "an unknown event type 'conversation.archived' was refused" in text
    assert "Traceback" not in text


def test_strict_from_environment(pytester: pytest.Pytester, strict_receiver: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPROOF_STRICT", "1")
    result = run(pytester, "--target-url", strict_receiver, "--provider", "varda", "--events",
                 EVENT, "-k", "unknown_event_handled")
    result.assert_outcomes(failed=1)
