"""Deliveries as a platform sends them behind a proxy, and retries as it sends them."""

from __future__ import annotations

from hookproof.catalogue import load_catalogue
from hookproof.catalogue.examples import canonical_example
from hookproof.checks import same_refusal
from hookproof.reach.builder import DeliveryBuilder
from hookproof.signing import WireRequest, scheme_for
from hookproof.transport.client import Exchange

SECRET = "builder-test-secret"


def _builder(provider: str, **kwargs: object) -> DeliveryBuilder:
    return DeliveryBuilder(load_catalogue().provider(provider), target_url=(
        "http://127.0.0.1:8000/hooks"), secret=SECRET, **kwargs)  # type: ignore[arg-type]


def test_signing_url_sends_the_proxy_headers_and_signs_the_public_url() -> None:
    builder = _builder("twilio-conversations", signing_url="https://hooks.example.com/twilio")
    event = builder.provider.event("onMessageAdded")
    delivery = builder.build(event, canonical_example(builder.provider.id, event.name).payload)
    request = delivery.request
    assert request.url == "http://127.0.0.1:8000/hooks"
    assert request.header("X-Forwarded-Proto") == "https"
    assert request.header("X-Forwarded-Host") == "hooks.example.com"
    assert request.header("X-Forwarded-Port") == "443"
    scheme = scheme_for(builder.provider.signature, encoding="form")
    assert scheme.verify(request, SECRET, now=0,
                         public_url="https://hooks.example.com/twilio").ok
    assert not scheme.verify(request, SECRET, now=0).ok  # not over the loopback URL


def test_no_forwarded_and_no_signing_url_send_no_proxy_headers() -> None:
    for builder in (_builder("varda"),
                    _builder("varda", signing_url="https://hooks.example.com/v",
                             forwarded=False)):
        event = builder.provider.events[0]
        request = builder.build(event, canonical_example("varda", event.name).payload).request
        assert not any(k.lower().startswith("x-forwarded") for k in request.headers)


def test_a_hook_group_url_is_signed_at_the_public_host_or_its_own_signing_url() -> None:
    frontline = "twilio-frontline"
    builder = _builder(frontline, signing_url="https://public.example.com",
                       hook_urls={"crm": "http://127.0.0.1:9000/callbacks/crm"},
                       signing_urls={"templates": "https://tpl.example.com/t"})
    provider = builder.provider
    crm = provider.event("GetCustomerDetailsByCustomerId")
    templates = provider.event("GetTemplatesByCustomerId")
    outgoing = provider.event("GetProxyAddress")
    assert builder.url_for(crm) == "http://127.0.0.1:9000/callbacks/crm"
    assert builder.signing_url_for(crm) == "https://public.example.com/callbacks/crm"
    assert builder.signing_url_for(templates) == "https://tpl.example.com/t"
    assert builder.signing_url_for(outgoing) == "https://public.example.com/outgoing"
    headers = builder.build(templates, canonical_example(frontline, templates.name).payload
                            ).request.headers
    assert headers["X-Forwarded-Host"] == "tpl.example.com"


def test_a_retry_is_signed_later_with_the_same_delivery_id() -> None:
    for provider in ("varda", "operator", "twilio-conversations"):
        builder = _builder(provider)
        event = builder.provider.events[0]
        first = builder.build(event, canonical_example(provider, event.name).payload,
                              now=1_700_000_000)
        retry = builder.retry(first, now=1_700_000_005)
        header = builder.scheme.header
        assert retry.dedupe_key == first.dedupe_key
        assert retry.signed_at == first.signed_at + 5
        assert retry.request.header(header) != first.request.header(header), provider


def _answer(status: int, body: bytes) -> Exchange:
    return Exchange(WireRequest("POST", "http://127.0.0.1/x", {}, b""), status, {}, body)


def test_refusals_compare_with_volatile_parts_set_aside() -> None:
    forged = _answer(403, b'{"error": "bad signature", "request_id": "3f2a9c1e-77aa-4b1c"}')
    assert same_refusal(_answer(403, b'{"error": "bad signature", "request_id": '
                                     b'"9d8e7f60-1234-4abc"}'), forged)
    assert same_refusal(_answer(404, b"Not Found"), _answer(404, b"Not Found"))
    assert not same_refusal(_answer(403, b'{"error": "blocked word"}'), forged)
    assert not same_refusal(_answer(400, b'{"error": "bad signature"}'), forged)


def test_the_same_bytes_are_never_signed_twice_at_one_second() -> None:
    """A platform never signs the same bytes at the same second for two deliveries; nor do
    the suite's builders, in one process or across pytest-xdist workers (lanes)."""
    seen: set[tuple[int, str]] = set()
    for lane in ((0, 2), (1, 2)):
        builder = _builder("varda", lane=lane)
        event = builder.provider.event("message.created")
        payload = canonical_example("varda", event.name).payload
        for _ in range(5):
            delivery = builder.build(event, payload)
            signature = delivery.request.header("X-Varda-Signature") or ""
            assert delivery.signed_at % 2 == lane[0]
            assert (delivery.signed_at, signature) not in seen
            seen.add((delivery.signed_at, signature))
    assert len({s for _, s in seen}) == 10
