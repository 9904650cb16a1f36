"""The delivery client's answers and failures, and the Target's decision to stop a run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import responses

from hookproof.catalogue import Catalogue
from hookproof.catalogue.examples import canonical_example
from hookproof.reach.builder import DeliveryBuilder
from hookproof.reach.settings import Settings
from hookproof.reach.target import (
    GRACE_SECONDS,
    STOP_AFTER_CONSECUTIVE,
    EffectsProbe,
    Target,
    TargetUnavailable,
)
from hookproof.signing import WireRequest
from hookproof.transport.client import DeliveryClient, Exchange
from receivers import RawServer, unused_port

URL = "https://hooks.example.com/varda"
REQUEST = WireRequest("POST", URL, {"Content-Type": "application/json", "X-Sig": "v1,abc"},
                      b'{"event":"conversation.created"}')


@pytest.fixture
def client() -> Iterator[DeliveryClient]:
    delivery_client = DeliveryClient(timeout=2.0)
    yield delivery_client
    delivery_client.close()


def one_line(exchange: Exchange) -> str:
    assert exchange.error is not None
    assert "\n" not in exchange.error
    assert "Traceback" not in exchange.error
    assert not exchange.answered
    return exchange.error


# -- mocked transport (responses) ---------------------------------------------------------------


@responses.activate
def test_answer_is_timed_and_captured(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL, body=b'{"ok": true}', status=200,
                  headers={"X-Request-Id": "r-1"}, content_type="application/json")
    exchange = client.send(REQUEST)
    assert exchange.answered and exchange.error is None and exchange.error_kind is None
    assert exchange.status == 200 and exchange.status_class() == "2xx"
    assert exchange.elapsed > 0
    assert exchange.body == b'{"ok": true}' and exchange.json() == {"ok": True}
    assert exchange.headers["X-Request-Id"] == "r-1"
    assert exchange.headers["Content-Type"] == "application/json"
    sent = responses.calls[0].request
    assert sent.body == REQUEST.body
    assert sent.headers["X-Sig"] == "v1,abc"
    assert exchange.request is REQUEST


@responses.activate
def test_get_sends_no_body(client: DeliveryClient) -> None:
    responses.add(responses.GET, URL + "?a=1", body=b"", status=204)
    exchange = client.send(WireRequest("GET", URL + "?a=1", {"X-Sig": "s"}, b"a=1"))
    assert exchange.status == 204 and exchange.answered
    assert not responses.calls[0].request.body


@responses.activate
def test_error_statuses_are_answers_not_errors(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL, body=b"boom", status=503)
    exchange = client.send(REQUEST)
    assert exchange.answered and exchange.status == 503 and exchange.status_class() == "5xx"


@responses.activate
def test_connection_refused_is_unreachable(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL, body=requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='hooks.example.com', port=443): Max retries exceeded with "
        "url: /varda (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection "
        "object>: Failed to establish a new connection: [Errno 111] Connection refused'))"))
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "unreachable"
    assert one_line(exchange) == "connection refused"
    assert exchange.status is None


@responses.activate
def test_unresolvable_host_is_unreachable(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL, body=requests.exceptions.ConnectionError(
        "Failed to resolve 'hooks.example.com' ([Errno -2] Name or service not known)"))
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "unreachable"
    assert one_line(exchange) == "host name does not resolve"


@responses.activate
def test_reset_is_closed(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL, body=requests.exceptions.ConnectionError(
        "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"))
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "closed"
    assert one_line(exchange) == "connection reset before an answer"


@responses.activate
def test_read_timeout_is_timeout(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL, body=requests.exceptions.ReadTimeout("read timed out"))
    exchange = client.send(REQUEST, timeout=1.5)
    assert exchange.error_kind == "timeout"
    assert one_line(exchange) == "no complete answer within 1.5 s"


@responses.activate
def test_connect_timeout_is_timeout_with_client_default(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL,
                  body=requests.exceptions.ConnectTimeout("connect timed out"))
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "timeout"
    assert one_line(exchange) == "no complete answer within 2 s"


@responses.activate
def test_redirect_is_not_followed(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL, status=301,
                  headers={"Location": "https://www.example.com/varda"})
    responses.add(responses.POST, "https://www.example.com/varda", status=200)
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "redirect"
    assert exchange.status == 301
    message = one_line(exchange)
    assert "301 to https://www.example.com/varda" in message
    assert "platforms do not follow redirects" in message
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
         "certificate verify failed"),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "plain http"),
        ("[SSL: TLSV1_ALERT_INTERNAL_ERROR] tlsv1 alert internal error", "TLS handshake failed"),
    ],
)
@responses.activate
def test_tls_failure_hints_at_ca_bundle_and_insecure(client: DeliveryClient, text: str,
                                                     reason: str) -> None:
    responses.add(responses.POST, URL, body=requests.exceptions.SSLError(text))
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "tls"
    message = one_line(exchange)
    assert reason in message
    assert "--ca-bundle" in message and "--insecure" in message


@responses.activate
def test_a_body_cut_short_is_a_closed_connection(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL,
                  body=requests.exceptions.ChunkedEncodingError("bad chunk"))
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "closed"
    assert one_line(exchange) == "connection closed in the middle of the answer"


@responses.activate
def test_other_request_errors_become_garbage(client: DeliveryClient) -> None:
    responses.add(responses.POST, URL,
                  body=requests.exceptions.ContentDecodingError("bad gzip"))
    exchange = client.send(REQUEST)
    assert exchange.error_kind == "garbage"
    assert one_line(exchange) == "bad answer (ContentDecodingError)"


@responses.activate
def test_an_answer_is_read_up_to_the_cap() -> None:
    capped = DeliveryClient(timeout=5, max_answer=1000)
    responses.add(responses.POST, URL, body=b"x" * 5000)
    exchange = capped.send(REQUEST)
    assert exchange.status == 200 and exchange.truncated
    assert exchange.body == b"x" * 1000
    kept = exchange.trimmed(10)
    assert kept.body == b"x" * 10 and kept.truncated


# -- real sockets on 127.0.0.1 --------------------------------------------------------------------


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    server = RawServer(request.param)
    yield server
    server.close()


def test_real_connection_refused(client: DeliveryClient) -> None:
    exchange = client.send(WireRequest("POST", f"http://127.0.0.1:{unused_port()}/x", {}, b"{}"))
    assert exchange.error_kind == "unreachable"
    assert one_line(exchange) == "connection refused"


@pytest.mark.parametrize("raw_server", [b"\x00\xff\xfe garbage \x01\r\n\r\n",
                                        b"SSH-2.0-OpenSSH_9.6\r\n"], indirect=True)
def test_garbage_answer_is_garbage(client: DeliveryClient, raw_server: RawServer) -> None:
    exchange = client.send(WireRequest("POST", f"http://127.0.0.1:{raw_server.port}/x", {},
                                       b"{}"))
    assert exchange.error_kind == "garbage"
    assert one_line(exchange) == "the answer is not HTTP (garbage on the connection)"


@pytest.mark.parametrize("raw_server", [None], indirect=True)
def test_closed_without_answer_is_closed(client: DeliveryClient,
                                           raw_server: RawServer) -> None:
    exchange = client.send(WireRequest("POST", f"http://127.0.0.1:{raw_server.port}/x", {},
                                       b"{}"))
    assert exchange.error_kind == "closed"
    assert one_line(exchange) == "connection closed without an answer"


@pytest.mark.parametrize("raw_server", [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
                         indirect=True)
def test_https_to_plain_server_is_tls(client: DeliveryClient, raw_server: RawServer) -> None:
    exchange = client.send(WireRequest("POST", f"https://127.0.0.1:{raw_server.port}/x", {},
                                       b"{}"))
    assert exchange.error_kind == "tls"
    message = one_line(exchange)
    assert "--ca-bundle" in message and "--insecure" in message


class Recorder(BaseHTTPRequestHandler):
    """Records when each request arrives (and on which client port), answers after a pause."""

    protocol_version = "HTTP/1.1"
    arrivals: list[tuple[float, int]]
    pause = 0.0

    def do_POST(self) -> None:
        self.arrivals.append((time.monotonic(), self.client_address[1]))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        time.sleep(self.pause)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def recording_server(pause: float) -> tuple[ThreadingHTTPServer, list[tuple[float, int]]]:
    arrivals: list[tuple[float, int]] = []
    handler = type("Handler", (Recorder,), {"arrivals": arrivals, "pause": pause})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrivals


def test_send_together_sends_concurrently(client: DeliveryClient) -> None:
    pause = 0.5
    server, arrivals = recording_server(pause)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        copies = [WireRequest("POST", url, {"X-N": str(i)}, b"{}") for i in range(5)]
        started = time.monotonic()
        exchanges = client.send_together(copies)
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert [e.status for e in exchanges] == [200] * 5
    assert [e.request for e in exchanges] == copies  # results in the order given
    times = [t for t, _ in arrivals]
    assert len(times) == 5
    assert max(times) - min(times) < pause / 2, times
    assert took < 5 * pause * 0.6  # one after another would take 5 pauses
    assert len({port for _, port in arrivals}) == 5  # each on its own connection


def test_send_reuses_one_keep_alive_connection(client: DeliveryClient) -> None:
    server, arrivals = recording_server(0.0)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        for _ in range(3):
            assert client.send(WireRequest("POST", url, {}, b"{}")).status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert len({port for _, port in arrivals}) == 1


# -- Target: when to stop -------------------------------------------------------------------------


class ScriptedClient:
    """Stands in for DeliveryClient: answers each send with the next scripted exchange."""

    app = None  # not an in-process target

    def __init__(self, kinds: list[str | None]) -> None:
        self.kinds = list(kinds)
        self.timeouts: list[float | None] = []

    def send(self, request: WireRequest, *, timeout: float | None = None) -> Exchange:
        self.timeouts.append(timeout)
        kind = self.kinds.pop(0)
        if kind is None:
            return Exchange(request, 200, {}, b"", 0.01)
        return Exchange(request, error=f"scripted {kind}", error_kind=kind)

    def send_together(self, requests_: list[WireRequest]) -> list[Exchange]:
        return [self.send(r) for r in requests_]


def make_target(catalogue: Catalogue, kinds: list[str | None]) -> Target:
    provider = catalogue.provider("varda")
    settings = Settings(target_url=URL, provider="varda")
    builder = DeliveryBuilder(provider, target_url=URL, secret="test-secret")
    client: Any = ScriptedClient(kinds)
    return Target(provider, settings, builder, client, None, EffectsProbe(),  # type: ignore[arg-type]
                  "HOOKPROOF_SECRET")


def delivery(target: Target, event: str = "conversation.created") -> Any:
    return target.builder.build(target.provider.event(event),
                                canonical_example("varda", event).payload)


@pytest.mark.parametrize("kind", ["unreachable", "tls", "redirect", "garbage"])
def test_a_target_that_cannot_be_tested_is_marked_down(catalogue: Catalogue, kind: str) -> None:
    target = make_target(catalogue, [kind])
    with pytest.raises(TargetUnavailable) as info:
        target.send("signature.valid_accepted", delivery(target))
    assert str(info.value) == f"target {URL} cannot be tested: scripted {kind}"
    assert len(target.exchanges) == 1  # recorded even though nothing more is sent
    with pytest.raises(TargetUnavailable):  # the next check is not run, nothing is sent
        target.check_available(target.provider.event("conversation.created"))
    assert len(target.exchanges) == 1


def test_three_consecutive_timeouts_mark_the_endpoint_down(catalogue: Catalogue) -> None:
    target = make_target(catalogue, ["timeout"] * STOP_AFTER_CONSECUTIVE)
    for _ in range(STOP_AFTER_CONSECUTIVE):
        assert target.send("c", delivery(target)).error_kind == "timeout"
    with pytest.raises(TargetUnavailable) as info:
        target.send("c", delivery(target))
    message = str(info.value)
    assert f"failed {STOP_AFTER_CONSECUTIVE} deliveries in a row" in message
    assert "scripted timeout" in message and "\n" not in message


def test_an_answer_resets_the_timeout_count(catalogue: Catalogue) -> None:
    kinds: list[str | None] = ["timeout", "timeout", None, "timeout", "timeout", None,
                               "timeout"]
    target = make_target(catalogue, kinds)
    for _ in kinds:
        target.send("c", delivery(target))  # never three timeouts in a row: still up
    assert len(target.exchanges) == len(kinds)
    assert not target.down


def test_client_waits_the_budget_plus_grace(catalogue: Catalogue) -> None:
    target = make_target(catalogue, [None])
    target.send("c", delivery(target))
    event = target.provider.event("conversation.created")
    client: Any = target.client
    assert client.timeouts == [event.budget + GRACE_SECONDS]
    assert target.budget(event) == event.budget


def test_budget_setting_tightens_but_never_loosens(catalogue: Catalogue) -> None:
    target = make_target(catalogue, [])
    event = target.provider.event("conversation.created")
    target.settings = Settings(target_url=URL, provider="varda", budget=0.5)
    assert target.budget(event) == 0.5
    target.settings = Settings(target_url=URL, provider="varda", budget=event.budget * 10)
    assert target.budget(event) == event.budget


def test_accepted_classes_and_expect_override(catalogue: Catalogue) -> None:
    target = make_target(catalogue, [])
    event = target.provider.event("conversation.created")
    assert target.accepted_classes(event) == frozenset({"2xx"})
    target.settings = Settings(target_url=URL, provider="varda",
                               expect={"conversation.created": frozenset({"4xx"})})
    assert target.accepted_classes(event) == frozenset({"4xx"})


def test_an_outage_of_one_hook_group_does_not_stop_the_others(catalogue: Catalogue) -> None:
    """Three timeouts in a row on Frontline's CRM URL take that group down; the conversations
    hook, on its own URL, is still tested."""
    provider = catalogue.provider("twilio-frontline")
    crm_url = "http://127.0.0.1:9/crm-callbacks"
    settings = Settings(target_url=URL, provider=provider.id, hook_urls={"crm": crm_url})
    builder = DeliveryBuilder(provider, target_url=URL, secret="s", hook_urls={"crm": crm_url})
    client: Any = ScriptedClient(["timeout"] * STOP_AFTER_CONSECUTIVE + [None, None])
    target = Target(provider, settings, builder, client, None, EffectsProbe(),  # type: ignore[arg-type]
                    "HOOKPROOF_SECRET")
    crm = provider.event("GetCustomerDetailsByCustomerId")
    conversations = provider.event("onConversationAdd")
    for _ in range(STOP_AFTER_CONSECUTIVE):
        target.send("c", builder.build(crm, canonical_example(provider.id, crm.name).payload))
    with pytest.raises(TargetUnavailable):
        target.check_available(crm)
    target.check_available(conversations)  # still up
    exchange = target.send("c", builder.build(
        conversations, canonical_example(provider.id, conversations.name).payload))
    assert exchange.status == 200
