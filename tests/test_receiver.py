"""The reference receiver over real HTTP: uvicorn on 127.0.0.1 in a thread, signed requests."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from hookproof.catalogue import Event, Provider, load_catalogue
from hookproof.catalogue.validation import validate, validate_response
from hookproof.receiver.app import create_app
from hookproof.receiver.config import ReceiverConfig, resolve_secret, secret_variable
from hookproof.receiver.store import SqliteStore
from hookproof.signing import Verification, WireRequest, scheme_for
from hookproof.transport.encoding import encode_form, encode_json
from receivers import run_in_thread

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CATALOGUE = load_catalogue()
PROVIDERS = sorted(CATALOGUE.providers)
TIMESTAMPED = [p for p in PROVIDERS if CATALOGUE.provider(p).replay_window is not None]
SECRETS = {p: f"secret-of-{p}" for p in PROVIDERS}


# --------------------------------------------------------------------------------------------
# Helpers: examples, signing, sending
# --------------------------------------------------------------------------------------------


def path_of(provider: Provider, event: Event | None = None) -> str:
    """The receiver path of ``event`` (or of the provider's default hook)."""
    prefix = f"/{provider.id}"
    if event is None or event.group is None:
        group = next(iter(provider.hook_groups), None)
        sub = provider.hook_groups.get(group, "") if group else ""
    else:
        sub = provider.hook_groups[event.group]
    sub = sub.strip("/")
    return f"{prefix}/{sub}" if sub else prefix


def example_body(provider: Provider, file: Path) -> bytes:
    """The raw body of an example file: ``.form`` as-is, ``.json`` encoded for the transport."""
    if file.suffix == ".form":
        return file.read_bytes()
    payload = json.loads(file.read_text(encoding="utf-8"))
    if provider.transport.encoding == "form":
        return encode_form(payload)
    return file.read_bytes() if file.name.startswith("documented") else encode_json(payload)


def examples(provider: Provider, kind: str = "valid") -> Iterator[tuple[Event, Path]]:
    for event in provider.events:
        folder = FIXTURES / provider.id / event.name / kind
        if folder.is_dir():
            for file in sorted(folder.iterdir()):
                if file.suffix in (".json", ".form"):
                    yield event, file


def first_valid(provider: Provider, event_name: str | None = None) -> tuple[Event, bytes]:
    for event, file in examples(provider):
        if event_name is None or event.name == event_name:
            return event, example_body(provider, file)
    raise LookupError(f"no valid example for {provider.id} {event_name}")


def sign(
    provider: Provider,
    url: str,
    body: bytes,
    *,
    secret: str | None = None,
    key: str | None = None,
    now: int | None = None,
    method: str = "POST",
    signing_url: str | None = None,
) -> WireRequest:
    """A request signed as the platform signs it (fresh dedupe key unless ``key``)."""
    headers = {provider.dedupe_header: key or str(uuid.uuid4())}
    if method == "POST":
        headers["Content-Type"] = provider.transport.content_type
    request = WireRequest(method=method, url=url, headers=headers, body=body)
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    stamp = int(time.time()) if now is None else now
    return scheme.sign(request, secret or SECRETS[provider.id], now=stamp, signing_url=signing_url)


_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread (a Session is not shared between threads)."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def send(request: WireRequest, **kwargs: Any) -> requests.Response:
    return _session().request(
        request.method, request.url, data=request.body or None, headers=dict(request.headers),
        timeout=10, **kwargs,
    )


def deliver(
    base: str, provider: Provider, body: bytes, event: Event | None = None, **sign_kwargs: Any
) -> tuple[WireRequest, requests.Response]:
    request = sign(provider, base + path_of(provider, event), body, **sign_kwargs)
    return request, send(request)


def effects(base: str, provider: Provider, key: str) -> int:
    response = requests.get(f"{base}/{provider.id}/effects", params={"key": key}, timeout=10)
    assert response.status_code == 200, response.text
    count = response.json()["count"]
    assert isinstance(count, int)
    return count


def with_extra_field(provider: Provider, file_body: bytes) -> bytes:
    """The same payload with a field the contract does not know."""
    if provider.transport.encoding == "form":
        return file_body + b"&HookproofFutureField=something+new"
    payload = json.loads(file_body)
    payload["hookproof_future_field"] = {"nested": [1, 2, 3]}
    return encode_json(payload)


def config_for(tmp: Path, **changes: Any) -> ReceiverConfig:
    # these tests send one example many times under fresh ids: see replay_protection (the
    # replay test uses a receiver of its own with it on)
    changes.setdefault("replay_protection", False)
    return ReceiverConfig(db=tmp / "receiver.sqlite3", secrets=SECRETS, environ={}, **changes)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, stop = run_in_thread(create_app(config_for(tmp_path_factory.mktemp("receiver"))))
    yield url
    stop()


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> Provider:
    return CATALOGUE.provider(request.param)


# --------------------------------------------------------------------------------------------
# Accepting real traffic
# --------------------------------------------------------------------------------------------


def test_healthz(base: str) -> None:
    response = requests.get(f"{base}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_every_valid_example_is_accepted(base: str, provider: Provider) -> None:
    failures: list[str] = []
    sent = 0
    for event, file in examples(provider):
        _, response = deliver(base, provider, example_body(provider, file), event)
        sent += 1
        where = f"{event.name}/{file.name}"
        if response.status_code != 200:
            failures.append(f"{where}: {response.status_code} {response.text}")
            continue
        if not response.headers["content-type"].startswith("application/json"):
            failures.append(f"{where}: content-type {response.headers['content-type']}")
        answer = response.json()
        if event.response is not None:
            result = validate_response(answer, provider=provider.id, event=event.name)
            if result.errors or result.drift:
                failures.append(f"{where}: answer {answer} breaks its contract: "
                                f"{[str(f) for f in (*result.errors, *result.drift)]}")
        elif answer != {}:
            failures.append(f"{where}: answer {answer} where {{}} was expected")
    assert sent, f"no valid examples for {provider.id}"
    assert not failures, "\n".join(failures)


def names_another_event(provider: Provider, event: Event, file: Path) -> bool:
    """An invalid example that names another event than its folder's (``wrong-event-type``)."""
    if file.suffix != ".json":
        return False
    name = provider.event_name_of(json.loads(file.read_text(encoding="utf-8")))
    return name is not None and name != event.name


def test_every_invalid_example_is_rejected_with_4xx(base: str, provider: Provider) -> None:
    failures: list[str] = []
    for event, file in examples(provider, "invalid"):
        _, response = deliver(base, provider, example_body(provider, file), event)
        if names_another_event(provider, event, file):
            # Judged as the event it names: a valid one (200), a new one (200, or 422 for a
            # Frontline callback), or an invalid one (400). Never a crash.
            ok = response.status_code in (200, 400, 422)
        else:
            ok = 400 <= response.status_code < 500
        if not ok:
            failures.append(f"{event.name}/{file.name}: {response.status_code} {response.text}")
    assert not failures, "\n".join(failures)


def test_missing_required_field_gets_400_listing_it(base: str, provider: Provider) -> None:
    for event, file in examples(provider, "invalid"):
        expected = yaml.safe_load((file.parent / "expected.yaml").read_text())[file.name]
        if expected["rule"] == "required" and event.group in (None, "conversations"):
            break
    else:
        pytest.skip("no missing-field example")
    _, response = deliver(base, provider, example_body(provider, file), event)
    assert response.status_code == 400, response.text
    document = response.json()
    if "errors" in document:  # the event name itself may be the missing field
        assert any(e["path"] == expected["path"] and e["rule"] == "required"
                   for e in document["errors"]), document


def test_unknown_fields_are_tolerated(base: str, provider: Provider) -> None:
    event, body = first_valid(provider)
    _, response = deliver(base, provider, with_extra_field(provider, body), event)
    assert response.status_code == 200, response.text


def test_unknown_enum_value_is_tolerated(base: str) -> None:
    conversations = CATALOGUE.provider("twilio-conversations")
    for event, file in examples(conversations):
        payload = json.loads(file.read_text()) if file.suffix == ".json" else None
        if payload and "State" in payload:
            payload["State"] = "hibernating"  # a State Twilio may add some day
            result = validate(payload, provider=conversations.id, event=event.name)
            assert not result.errors and result.drift, result
            _, response = deliver(base, conversations, encode_form(payload), event)
            assert response.status_code == 200, response.text
            return
    pytest.fail("no Conversations example with State")


def test_unknown_event_is_tolerated(base: str) -> None:
    varda = CATALOGUE.provider("varda")
    body = encode_json({"event": "invoice.paid", "timestamp": "2026-03-25T18:30:00Z",
                        "data": {"id": 1}})
    _, response = deliver(base, varda, body)
    assert (response.status_code, response.json()) == (200, {})
    conversations = CATALOGUE.provider("twilio-conversations")
    _, response = deliver(base, conversations, encode_form({"EventType": "onSomethingNew"}))
    assert (response.status_code, response.json()) == (200, {})


def test_unknown_frontline_location_gets_422(base: str) -> None:
    frontline = CATALOGUE.provider("twilio-frontline")
    crm = frontline.event("GetCustomersList")
    body = encode_form({"Location": "GetSomethingElse", "Worker": "alice@example.com"})
    _, response = deliver(base, frontline, body, crm)
    assert response.status_code == 422, response.text


def test_twilio_get_delivery(base: str) -> None:
    provider = CATALOGUE.provider("twilio-conversations")
    event, file = next((e, f) for e, f in examples(provider)
                       if e.kind == "post" and f.suffix == ".json")
    query = encode_form(json.loads(file.read_text())).decode("ascii")
    url = f"{base}{path_of(provider, event)}?{query}"
    request = sign(provider, url, b"", method="GET")
    response = send(request)
    assert response.status_code == 200, response.text
    assert effects(base, provider, request.headers[provider.dedupe_header]) == 1


def test_operator_query_string_is_not_signed(base: str) -> None:
    provider = CATALOGUE.provider("operator")
    _, body = first_valid(provider, "conversation.ended")
    url = base + path_of(provider)
    request = sign(provider, url, body).with_url(url + "?tenant=42")
    assert send(request).status_code == 200


# --------------------------------------------------------------------------------------------
# Rejecting forgeries
# --------------------------------------------------------------------------------------------


def test_unsigned_is_rejected_with_400(base: str, provider: Provider) -> None:
    event, body = first_valid(provider)
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    request = sign(provider, base + path_of(provider, event), body).without_headers(scheme.header)
    response = send(request)
    assert response.status_code == 400, response.text


def test_wrong_secret_is_rejected_with_403(base: str, provider: Provider) -> None:
    event, body = first_valid(provider)
    _, response = deliver(base, provider, body, event, secret="not-the-secret")
    assert response.status_code == 403, response.text


def test_tampered_body_is_rejected_with_403(base: str, provider: Provider) -> None:
    event, body = first_valid(provider)
    request = sign(provider, base + path_of(provider, event), body)
    response = send(request.with_body(with_extra_field(provider, body)))
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("provider_id", TIMESTAMPED)
@pytest.mark.parametrize("offset", [-1, +1], ids=["stale", "future"])
def test_timestamp_outside_the_window_is_rejected(base: str, provider_id: str,
                                                  offset: int) -> None:
    provider = CATALOGUE.provider(provider_id)
    assert provider.replay_window is not None
    event, body = first_valid(provider)
    now = int(time.time()) + offset * (provider.replay_window.seconds + 5)
    _, response = deliver(base, provider, body, event, now=now)
    assert response.status_code == 403, response.text
    inside = int(time.time()) + offset * (provider.replay_window.seconds - 5)
    _, response = deliver(base, provider, body, event, now=inside)
    assert response.status_code == 200, response.text


def test_malformed_body_gets_400(base: str, provider: Provider) -> None:
    body = b"EventType&&%FF" if provider.transport.encoding == "form" else b'{"event": '
    event, _ = first_valid(provider)
    _, response = deliver(base, provider, body, event)
    assert response.status_code == 400, response.text


def test_missing_dedupe_header_gets_400(base: str) -> None:
    provider = CATALOGUE.provider("varda")
    event, body = first_valid(provider)
    request = sign(provider, base + path_of(provider, event), body)
    response = send(request.without_headers(provider.dedupe_header))
    assert response.status_code == 400, response.text


def test_no_secret_configured_answers_500(tmp_path: Path) -> None:
    url, stop = run_in_thread(create_app(ReceiverConfig(db=tmp_path / "db", environ={})))
    try:
        provider = CATALOGUE.provider("varda")
        event, body = first_valid(provider)
        _, response = deliver(url, provider, body, event)
        assert response.status_code == 500
        assert response.json()["error"] == "no signing secret configured"
    finally:
        stop()


def test_secrets_come_from_the_environment() -> None:
    environ = {"HOOKPROOF_SECRET": "shared", "HOOKPROOF_SECRET_TWILIO_FRONTLINE": "own"}
    assert secret_variable("twilio-frontline") == "HOOKPROOF_SECRET_TWILIO_FRONTLINE"
    assert resolve_secret("twilio-frontline", {}, environ) == "own"
    assert resolve_secret("varda", {}, environ) == "shared"
    assert resolve_secret("varda", {"varda": "explicit"}, environ) == "explicit"
    assert resolve_secret("varda", {}, {}) is None


def test_body_too_large_gets_413(tmp_path: Path) -> None:
    config = config_for(tmp_path, max_body_bytes=64)
    url, stop = run_in_thread(create_app(config))
    try:
        provider = CATALOGUE.provider("varda")
        event, body = first_valid(provider)
        _, response = deliver(url, provider, body + b" " * 64, event)
        assert response.status_code == 413
    finally:
        stop()


def test_behind_a_proxy_the_public_url_is_verified_with_either_port_form(
    tmp_path: Path,
) -> None:
    public = "https://hooks.example.com/base"
    url, stop = run_in_thread(create_app(config_for(tmp_path, public_url=public)))
    try:
        provider = CATALOGUE.provider("twilio-frontline")
        event, body = first_valid(provider, "GetProxyAddress")
        path = path_of(provider, event)
        for signed_over in (f"{public}{path}", f"https://hooks.example.com:443/base{path}"):
            request = sign(provider, url + path, body, signing_url=signed_over)
            assert send(request).status_code == 200, signed_over
        request = sign(provider, url + path, body, signing_url=f"{public}/other{path}")
        assert send(request).status_code == 403
        # Behind the proxy, the URL the receiver itself sees is not what the platform signs.
        request = sign(provider, url + path, body)
        assert send(request).status_code == 403
    finally:
        stop()


# --------------------------------------------------------------------------------------------
# Idempotency and the effects probe
# --------------------------------------------------------------------------------------------


def _response_bearing_or_first(provider: Provider) -> tuple[Event, bytes]:
    for event, file in examples(provider):
        if event.response is not None:
            return event, example_body(provider, file)
    return first_valid(provider)


def test_sequential_duplicate_is_processed_once(base: str, provider: Provider) -> None:
    event, body = _response_bearing_or_first(provider)
    key = str(uuid.uuid4())
    _, first = deliver(base, provider, body, event, key=key)
    # A real retry is signed again (Varda/Operator: a later timestamp, a new signature).
    _, second = deliver(base, provider, body, event, key=key, now=int(time.time()) + 2)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert effects(base, provider, key) == 1


def test_concurrent_duplicates_are_processed_once(base: str, provider: Provider) -> None:
    event, body = _response_bearing_or_first(provider)
    key = str(uuid.uuid4())
    request = sign(provider, base + path_of(provider, event), body, key=key)
    barrier = threading.Barrier(10)
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        response = send(request)
        with lock:
            results.append((response.status_code, response.content))

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 10
    assert {status for status, _ in results} == {200}
    assert len({content for _, content in results}) == 1
    assert effects(base, provider, key) == 1


def test_distinct_keys_are_distinct_effects(base: str) -> None:
    provider = CATALOGUE.provider("varda")
    event, body = first_valid(provider)
    keys = [str(uuid.uuid4()) for _ in range(2)]
    for key in keys:
        deliver(base, provider, body, event, key=key)
    assert [effects(base, provider, key) for key in keys] == [1, 1]


def test_effects_probe(base: str, provider: Provider) -> None:
    assert effects(base, provider, "never-seen-" + str(uuid.uuid4())) == 0
    response = requests.get(f"{base}/{provider.id}/effects", timeout=10)
    assert response.status_code == 400


def test_rejected_deliveries_have_no_effect(base: str) -> None:
    provider = CATALOGUE.provider("operator")
    event, body = first_valid(provider)
    key = str(uuid.uuid4())
    deliver(base, provider, body, event, key=key, secret="forged")
    assert effects(base, provider, key) == 0


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_id", "event_name", "params", "expected"),
    [
        ("twilio-frontline", "GetProxyAddress",
         {"Location": "GetProxyAddress", "Worker": "a@example.com", "CustomerId": "1",
          "ChannelType": "whatsapp", "ChannelValue": "whatsapp:+15555550123"},
         {"proxy_address": "whatsapp:+15555550100"}),
        ("twilio-frontline", "GetCustomersList",
         {"Location": "GetCustomersList", "Worker": "a@example.com", "PageSize": "2"},
         None),
    ],
)
def test_callback_answers(base: str, provider_id: str, event_name: str,
                          params: Mapping[str, str], expected: Any) -> None:
    provider = CATALOGUE.provider(provider_id)
    event = provider.event(event_name)
    _, response = deliver(base, provider, encode_form(params), event)
    assert response.status_code == 200
    answer = response.json()
    assert validate_response(answer, provider=provider_id, event=event_name).ok
    if expected is not None:
        assert answer == expected
    else:
        assert len(answer["objects"]["customers"]) == 2


def test_frontline_conversation_answer_names_it_and_sets_an_avatar(base: str) -> None:
    provider = CATALOGUE.provider("twilio-frontline")
    event, body = first_valid(provider, "onConversationAdd")
    _, response = deliver(base, provider, body, event)
    answer = response.json()
    assert set(answer) == {"friendly_name", "attributes"}
    assert json.loads(answer["attributes"])["avatar"].startswith("https://")


def test_operator_setup_answers_with_a_context(base: str) -> None:
    provider = CATALOGUE.provider("operator")
    event, body = first_valid(provider, "conversation.setup")
    _, response = deliver(base, provider, body, event)
    answer = response.json()
    assert isinstance(answer["context"], dict)
    assert answer["context"]["conversation_id"] == json.loads(body)["conversation_id"]


# --------------------------------------------------------------------------------------------
# Variants: one part swapped
# --------------------------------------------------------------------------------------------


def test_a_variant_with_one_part_swapped(tmp_path: Path) -> None:
    def accept_everything(provider: Provider, request: WireRequest, secret: str, *,
                          now: int) -> Verification:
        return Verification(True, "ok")

    class EveryDeliveryCounts(SqliteStore):
        def record(self, delivery: Any, answer: Any) -> Any:
            with self.connect() as conn:
                self.apply_effect(conn, delivery)
            return answer

    reference = config_for(tmp_path)
    unsigned = dataclasses.replace(reference, verifier=accept_everything)
    no_dedupe = dataclasses.replace(reference, store=EveryDeliveryCounts(tmp_path / "other"))
    provider = CATALOGUE.provider("varda")
    event, body = first_valid(provider)
    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    for config, unsigned_status, duplicate_effects in (
        (reference, 400, 1), (unsigned, 200, 1), (no_dedupe, 400, 2)
    ):
        url, stop = run_in_thread(create_app(config))
        try:
            request = sign(provider, url + path_of(provider), body)
            assert send(request.without_headers(scheme.header)).status_code == unsigned_status
            key = str(uuid.uuid4())
            for _ in range(2):
                deliver(url, provider, body, event, key=key)
            assert effects(url, provider, key) == duplicate_effects
        finally:
            stop()


@pytest.fixture
def protected(tmp_path: Path) -> Iterator[str]:
    """A reference receiver with its default replay protection."""
    url, stop = run_in_thread(create_app(config_for(tmp_path, replay_protection=True)))
    yield url
    stop()


def test_a_replay_with_a_fresh_delivery_id_is_refused_and_not_processed(protected: str) -> None:
    """Varda does not sign X-Varda-Delivery: a captured request sent again inside the replay
    window with a fresh id carries a signature already seen with another id, and is refused."""
    base = protected
    varda = CATALOGUE.provider("varda")
    event, body = first_valid(varda, "message.created")
    first, answer = deliver(base, varda, body, event)
    assert answer.status_code == 200, answer.text
    replay = first.with_headers({varda.dedupe_header: str(uuid.uuid4())})
    refused = send(replay)
    assert refused.status_code == 409, refused.text
    assert "replayed" in refused.json()["error"]
    assert effects(base, varda, first.headers[varda.dedupe_header]) == 1
    assert effects(base, varda, replay.headers[varda.dedupe_header]) == 0
    # a genuine redelivery (same id) is still a duplicate, answered as the first was
    again = send(first)
    assert again.status_code == 200
    assert effects(base, varda, first.headers[varda.dedupe_header]) == 1


def test_operator_signs_its_delivery_id_so_a_fresh_one_breaks_the_signature(base: str) -> None:
    operator = CATALOGUE.provider("operator")
    event, body = first_valid(operator, "conversation.ended")
    first, answer = deliver(base, operator, body, event)
    assert answer.status_code == 200, answer.text
    replay = first.with_headers({operator.dedupe_header: str(uuid.uuid4())})
    assert send(replay).status_code == 403


@pytest.mark.parametrize("provider_id", ["varda", "operator"])
def test_hostile_signature_and_timestamp_headers_get_a_4xx(base: str, provider_id: str) -> None:
    provider = CATALOGUE.provider(provider_id)
    event, body = first_valid(provider)
    request = sign(provider, base + path_of(provider, event), body)
    name = provider.signature["header"]
    stamp = provider.signature.get("timestamp_header")
    hostile = [{name: "t=" + "9" * 5000 + ",v1=00"}, {name: "x" * 5000}, {name: ""}]
    if stamp:
        hostile += [{stamp: "9" * 5000}, {stamp: "-1"}]
    for headers in hostile:
        answer = send(request.with_headers(headers))
        assert 400 <= answer.status_code < 500, (headers.keys(), answer.status_code)
