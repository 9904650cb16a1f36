"""The platform's REST API, stubbed: what a receiver's calls back to the platform get while
hookproof judges it offline.

Real receivers call the platform while handling a webhook (Frontline's ``onParticipantAdded``
fetches and updates the Participant). In CI such a call fails, the receiver crashes, and a
suite would judge the environment instead of the receiver. So, for in-process targets, every
call made with ``requests`` (which the twilio helper library uses) is answered here:

* fetch / update / create of a Conversation, Participant, Message or User answer bodies valid
  against the resource contracts (``contracts/*/resources``), agreeing with the delivery being
  judged (the same SIDs, identity, attributes);
* a list call answers an empty page; a delete answers 204;
* anything else on the platform's API hosts answers 404 in the platform's error shape;
* a call to any other host is blocked (nothing reaches the network), loopback excepted.

Every call the receiver makes, stubbed or not, is recorded on the delivery's
:class:`~hookproof.transport.scope.DeliveryScope` and shown with the finding. The stub is built on
``responses`` (the transport mock of ``requests``); the recorder sits on
``requests.Session.send`` so that it also sees calls with the stub turned off
(``--no-platform-stub``). :func:`serve` runs the same answers on loopback for receivers in
another process (``hookproof stub serve``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hookproof.transport.scope import DeliveryScope, PlatformCall, current_scope

TWILIO_CONVERSATIONS = "conversations.twilio.com"
TWILIO_FRONTLINE = "frontline-api.twilio.com"
API_DOMAINS = (".twilio.com",)
"""The platform API hosts the stub answers for: Twilio's (Conversations, Orchestrator and
Frontline resources are routed; any other path answers 404 in Twilio's error shape). Varda and
Operator document no API that their webhooks' receivers call back."""
LOOPBACK = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)")
_STUB_DATE = "2021-08-10T18:00:58Z"

Answer = tuple[int, dict[str, Any] | None]

_SID = r"[A-Za-z0-9_.%+-]+"
_SERVICE = rf"(?:/Services/(?P<service>{_SID}))?"
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (TWILIO_CONVERSATIONS, re.compile(
        rf"^/v1{_SERVICE}/Conversations/(?P<conversation>{_SID})/Participants"
        rf"(?:/(?P<sid>{_SID}))?/?$"), "Participant"),
    (TWILIO_CONVERSATIONS, re.compile(
        rf"^/v1{_SERVICE}/Conversations/(?P<conversation>{_SID})/Messages"
        rf"(?:/(?P<sid>{_SID}))?/?$"), "Message"),
    (TWILIO_CONVERSATIONS, re.compile(
        rf"^/v1{_SERVICE}/Conversations(?:/(?P<sid>{_SID}))?/?$"), "Conversation"),
    (TWILIO_CONVERSATIONS, re.compile(rf"^/v1{_SERVICE}/Users(?:/(?P<sid>{_SID}))?/?$"),
     "User"),
    (TWILIO_FRONTLINE, re.compile(rf"^/v1/Users/(?P<sid>{_SID})/?$"), "FrontlineUser"),
)
_PREFIX = {"Conversation": "CH", "Participant": "MB", "Message": "IM", "User": "US",
           "FrontlineUser": "US"}
_LIST_KEY = {"Conversation": "conversations", "Participant": "participants",
             "Message": "messages", "User": "users"}


def _sid(prefix: str, seed: str) -> str:
    return prefix + sha256(seed.encode("utf-8")).hexdigest()[:32]


def _is_sid(value: str | None, prefix: str) -> bool:
    return bool(value) and re.fullmatch(rf"{prefix}[0-9a-fA-F]{{32}}", value or "") is not None


@dataclass(frozen=True)
class StubRequest:
    method: str
    url: str
    form: Mapping[str, str]
    """The form parameters of an update or a create (the twilio libraries send forms)."""


class PlatformStub:
    """The answers: a pure function of the request and the delivery being judged."""

    def answer(self, request: StubRequest, delivery: Mapping[str, str]) -> Answer:
        parts = urlsplit(request.url)
        host = (parts.hostname or "").lower()
        for route_host, pattern, kind in _ROUTES:
            match = pattern.match(parts.path) if host == route_host else None
            if match is None:
                continue
            found = {k: v for k, v in match.groupdict().items() if v}
            return self._resource(request, kind, found, delivery)
        return self._not_found(parts.path)

    def _resource(self, request: StubRequest, kind: str, path: dict[str, str],
                  delivery: Mapping[str, str]) -> Answer:
        method = request.method.upper()
        sid = path.get("sid")
        if sid is None:  # a collection
            if method == "GET":
                return 200, self._page(request.url, _LIST_KEY.get(kind, "items"))
            if method == "POST" and kind in _LIST_KEY:
                created = _sid(_PREFIX[kind], request.url + json.dumps(dict(request.form)))
                return 201, self._build(kind, {**path, "sid": created}, delivery, request.form,
                                        created=True)
            return self._not_found(urlsplit(request.url).path)
        if kind in ("Participant", "Message") and not _is_sid(sid, _PREFIX[kind]):
            # only conversations (unique name) and users (identity) have other keys
            return self._not_found(urlsplit(request.url).path)
        if method == "DELETE":
            return 204, None
        if method in ("GET", "POST"):
            return 200, self._build(kind, path, delivery, request.form if method == "POST"
                                    else {}, created=False)
        return self._not_found(urlsplit(request.url).path)

    # -- bodies -------------------------------------------------------------------------------

    def _build(self, kind: str, path: Mapping[str, str], delivery: Mapping[str, str],
               form: Mapping[str, str], *, created: bool) -> dict[str, Any]:
        builder: Callable[..., dict[str, Any]] = getattr(self, f"_{kind.lower()}")
        return builder(path, delivery if not created else {}, form, delivery)

    @staticmethod
    def _base(delivery: Mapping[str, str]) -> dict[str, Any]:
        account = delivery.get("AccountSid")
        return {"account_sid": account if _is_sid(account, "AC") else
                _sid("AC", "hookproof-stub-account")}

    @staticmethod
    def _service(path: Mapping[str, str], delivery: Mapping[str, str]) -> str:
        for value in (path.get("service"), delivery.get("ChatServiceSid")):
            if _is_sid(value, "IS"):
                return str(value)
        return _sid("IS", "hookproof-stub-service")

    @staticmethod
    def _pick(form: Mapping[str, str], key: str, same: bool, delivery: Mapping[str, str],
              field: str, default: Any) -> Any:
        if key in form:
            return form[key]
        if same and field in delivery:
            return delivery[field]
        return default

    @staticmethod
    def _resolve(value: str, prefix: str) -> str:
        """A SID as given, or a stable SID for a unique name or identity in its place."""
        return value if _is_sid(value, prefix) else _sid(prefix, value)

    def _conversation(self, path: Mapping[str, str], same_delivery: Mapping[str, str],
                      form: Mapping[str, str], delivery: Mapping[str, str]) -> dict[str, Any]:
        sid = self._resolve(path["sid"], "CH")
        same = delivery.get("ConversationSid") == sid and bool(same_delivery)
        service = self._service(path, delivery)
        base = f"https://{TWILIO_CONVERSATIONS}/v1/Conversations/{sid}"
        state = self._pick(form, "State", same, delivery, "State", "active")
        return {**self._base(delivery), "chat_service_sid": service,
                "messaging_service_sid": self._pick(form, "MessagingServiceSid", same, delivery,
                                                    "MessagingServiceSid", None),
                "sid": sid,
                "friendly_name": self._pick(form, "FriendlyName", same, delivery,
                                            "FriendlyName", None),
                "unique_name": self._pick(form, "UniqueName", same, delivery, "UniqueName",
                                          None),
                "attributes": self._pick(form, "Attributes", same, delivery, "Attributes", "{}"),
                "state": state if state in ("inactive", "active", "closed") else "active",
                "date_created": _STUB_DATE, "date_updated": _now(),
                "timers": {}, "url": base, "bindings": None,
                "links": {"participants": f"{base}/Participants",
                          "messages": f"{base}/Messages", "webhooks": f"{base}/Webhooks"}}

    def _participant(self, path: Mapping[str, str], same_delivery: Mapping[str, str],
                     form: Mapping[str, str], delivery: Mapping[str, str]) -> dict[str, Any]:
        conversation = self._resolve(path["conversation"], "CH")
        sid = self._resolve(path["sid"], "MB")
        same = delivery.get("ParticipantSid") == sid and bool(same_delivery)
        binding: dict[str, str] | None = None
        address = self._pick(form, "MessagingBinding.Address", same, delivery,
                             "MessagingBinding.Address", None)
        if address:
            binding = {"type": (delivery.get("MessagingBinding.Type") or "sms").lower(),
                       "address": address}
            proxy = self._pick(form, "MessagingBinding.ProxyAddress", same, delivery,
                               "MessagingBinding.ProxyAddress", None)
            if proxy:
                binding["proxy_address"] = proxy
        role = self._pick(form, "RoleSid", same, delivery, "RoleSid", None)
        return {**self._base(delivery), "conversation_sid": conversation, "sid": sid,
                "identity": self._pick(form, "Identity", same, delivery, "Identity", None),
                "attributes": self._pick(form, "Attributes", same, delivery, "Attributes", "{}"),
                "messaging_binding": binding,
                "role_sid": role if _is_sid(role, "RL") else None,
                "date_created": _STUB_DATE, "date_updated": _now(),
                "url": f"https://{TWILIO_CONVERSATIONS}/v1/Conversations/{conversation}"
                       f"/Participants/{sid}",
                "last_read_message_index": None, "last_read_timestamp": None}

    def _message(self, path: Mapping[str, str], same_delivery: Mapping[str, str],
                 form: Mapping[str, str], delivery: Mapping[str, str]) -> dict[str, Any]:
        conversation = self._resolve(path["conversation"], "CH")
        sid = self._resolve(path["sid"], "IM")
        same = delivery.get("MessageSid") == sid and bool(same_delivery)
        index = self._pick({}, "", same, delivery, "Index", "0")
        participant = self._pick(form, "ParticipantSid", same, delivery, "ParticipantSid",
                                 None)
        base = f"https://{TWILIO_CONVERSATIONS}/v1/Conversations/{conversation}/Messages/{sid}"
        media = None
        if same and delivery.get("Media"):
            try:
                media = json.loads(delivery["Media"])
            except ValueError:
                media = None
        return {**self._base(delivery), "conversation_sid": conversation, "sid": sid,
                "index": int(index) if str(index).isdigit() else 0,
                "author": self._pick(form, "Author", same, delivery, "Author", "system"),
                "body": self._pick(form, "Body", same, delivery, "Body", None),
                "media": media if isinstance(media, list) else None,
                "attributes": self._pick(form, "Attributes", same, delivery, "Attributes", "{}"),
                "participant_sid": participant if _is_sid(participant, "MB") else None,
                "date_created": _STUB_DATE, "date_updated": _now(), "url": base,
                "delivery": None, "content_sid": None,
                "links": {"delivery_receipts": f"{base}/Receipts",
                          "channel_metadata": f"{base}/ChannelMetadata"}}

    def _user(self, path: Mapping[str, str], same_delivery: Mapping[str, str],
              form: Mapping[str, str], delivery: Mapping[str, str]) -> dict[str, Any]:
        given = path["sid"]
        sid = self._resolve(given, "US")
        same = bool(same_delivery) and (delivery.get("UserSid") == sid
                                        or delivery.get("Identity") == given)
        base = f"https://{TWILIO_CONVERSATIONS}/v1/Users/{sid}"
        identity = self._pick(form, "Identity", same, delivery, "Identity",
                              given if not _is_sid(given, "US") else "hookproof-user")
        role = self._pick(form, "RoleSid", same, delivery, "RoleSid", None)
        return {**self._base(delivery), "chat_service_sid": self._service(path, delivery),
                "sid": sid, "role_sid": role if _is_sid(role, "RL") else None,
                "identity": identity,
                "friendly_name": self._pick(form, "FriendlyName", same, delivery,
                                            "FriendlyName", None),
                "attributes": self._pick(form, "Attributes", same, delivery, "Attributes", "{}"),
                "is_online": None, "is_notifiable": None,
                "date_created": _STUB_DATE, "date_updated": _now(), "url": base,
                "links": {"user_conversations": f"{base}/Conversations"}}

    def _frontlineuser(self, path: Mapping[str, str], same_delivery: Mapping[str, str],
                       form: Mapping[str, str], delivery: Mapping[str, str]) -> dict[str, Any]:
        given = path["sid"]
        sid = self._resolve(given, "US")
        worker = delivery.get("Worker")
        identity = given if not _is_sid(given, "US") else (worker or "hookproof-worker")
        state = form.get("State", "active")
        available = form.get("IsAvailable")
        return {"sid": sid, "identity": identity,
                "friendly_name": form.get("FriendlyName", identity),
                "avatar": form.get("Avatar"),
                "state": state if state in ("active", "deactivated") else "active",
                "is_available": True if available is None else available.lower() == "true",
                "url": f"https://{TWILIO_FRONTLINE}/v1/Users/{sid}"}

    @staticmethod
    def _page(url: str, key: str) -> dict[str, Any]:
        first = url.split("?", 1)[0] + "?PageSize=50&Page=0"
        return {key: [], "meta": {"page": 0, "page_size": 50, "first_page_url": first,
                                  "previous_page_url": None, "url": first,
                                  "next_page_url": None, "key": key}}

    @staticmethod
    def _not_found(path: str) -> Answer:
        return 404, {"code": 20404, "message": f"The requested resource {path} was not found",
                     "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def form_of(body: bytes | str | None) -> dict[str, str]:
    if not body:
        return {}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        found.setdefault(key, value)
    return found


# -- in this process: responses answers, Session.send records -----------------------------------


class BlockedCall(ConnectionError):
    """A call the stub does not let out: not the platform's API, and not loopback."""


class StubbedPlatform:
    """While active, the platform's API is answered by :class:`PlatformStub` (``stub``) or
    reached for real (``stub=False``: only recorded), for every ``requests`` call made in this
    process."""

    def __init__(self, *, stub: bool = True) -> None:
        self.stub = stub
        self.answers = PlatformStub()
        self.outside: list[PlatformCall] = []
        """Calls made outside any delivery (a receiver's background thread, say)."""
        self._lock = threading.Lock()
        self._mock: Any = None
        self._patch: Any = None

    def start(self) -> StubbedPlatform:
        import unittest.mock

        import requests

        if self.stub:
            import responses

            mock = responses.RequestsMock(assert_all_requests_are_fired=False)
            # every URL but loopback (hookproof's own effects probe, a team's local services)
            any_url = re.compile(r"^(?!https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])"
                                 r"(:\d+)?(/|$)).*")
            mock.add_passthru(LOOPBACK)
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
                mock.add_callback(method, any_url, callback=self._respond)
            mock.start()
            self._mock = mock
        original = requests.Session.send
        stubbed = self

        def recording_send(session: requests.Session, request: requests.PreparedRequest,
                           **kwargs: Any) -> requests.Response:
            url = request.url or ""
            if LOOPBACK.match(url):
                return original(session, request, **kwargs)
            try:
                response = original(session, request, **kwargs)
            except Exception as exc:
                stubbed._record(PlatformCall(request.method or "GET", url,
                                             error=_reason(exc), stubbed=False))
                raise
            stubbed._record(PlatformCall(request.method or "GET", url,
                                         status=response.status_code,
                                         stubbed=stubbed.stub))
            return response

        self._patch = unittest.mock.patch.object(requests.Session, "send", recording_send)
        self._patch.start()
        return self

    def stop(self) -> None:
        if self._patch is not None:
            self._patch.stop()
            self._patch = None
        if self._mock is not None:
            self._mock.stop()
            self._mock.reset()
            self._mock = None

    def _record(self, call: PlatformCall) -> None:
        scope = current_scope.get()
        if scope is not None:
            scope.add_call(call)
        else:
            with self._lock:
                self.outside.append(call)

    def _respond(self, request: Any) -> tuple[int, dict[str, str], Any]:
        url = str(request.url)
        host = (urlsplit(url).hostname or "").lower()
        if not host.endswith(API_DOMAINS):
            return 0, {}, BlockedCall(
                f"hookproof's platform stub blocked a call to {host or url}: not the "
                "platform's API, and nothing leaves this machine during the suite")
        scope: DeliveryScope | None = current_scope.get()
        status, body = self.answers.answer(
            StubRequest(request.method, url, form_of(request.body)),
            scope.fields if scope is not None else {})
        headers = {"Content-Type": "application/json"}
        return status, headers, "" if body is None else json.dumps(body)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BlockedCall):
        return "blocked: not the platform's API (the stub lets nothing out)"
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "resolve" in text or "name or service" in text:
        return "host name does not resolve"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


class PlatformGuard:
    """The stub (or the recorder alone) for as long as at least one user needs it: checks and
    deliveries running at once share one :class:`StubbedPlatform`, and it is gone between
    them, so a team's own tests in the same session reach what they mean to reach."""

    def __init__(self, *, stub: bool = True) -> None:
        self.stub = stub
        self._users = 0
        self._lock = threading.Lock()
        self._active: StubbedPlatform | None = None
        self.outside: list[PlatformCall] = []

    @contextmanager
    def active(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._active = StubbedPlatform(stub=self.stub).start()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._active is not None:
                    self.outside.extend(self._active.outside)
                    self._active.stop()
                    self._active = None


# -- on loopback, for a receiver in another process ---------------------------------------------


def stub_app(host: str = TWILIO_CONVERSATIONS) -> Any:
    """The stub as an ASGI app: a receiver's helper library pointed at it gets the answers
    an in-process receiver gets. ``/frontline/...`` is the Frontline API's host; every other
    path, the Conversations API's. Every call is printed, one line each."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    answers = PlatformStub()

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        api_host = host
        if path.startswith("/frontline/"):
            api_host, path = TWILIO_FRONTLINE, path.removeprefix("/frontline")
        query = f"?{request.url.query}" if request.url.query else ""
        status, document = answers.answer(
            StubRequest(request.method, f"https://{api_host}{path}{query}", form_of(body)), {})
        print(f"stub: {request.method} {api_host}{path}{query} -> {status}", flush=True)
        if document is None:
            return Response(status_code=status)
        return Response(json.dumps(document), status_code=status,
                        media_type="application/json")

    methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


def serve(host: str = "127.0.0.1", port: int = 8089) -> None:
    import uvicorn

    uvicorn.run(stub_app(), host=host, port=port, log_level="warning")
