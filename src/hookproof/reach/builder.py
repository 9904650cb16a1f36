"""Building deliveries exactly as a platform sends them: encoded, headed, signed."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hookproof.catalogue import Event, Provider
from hookproof.signing import Scheme, WireRequest, scheme_for
from hookproof.transport.encoding import decode_form, encode_body, encode_form


@dataclass(frozen=True)
class Delivery:
    """A signed request and what it was built from (to build a retry of it)."""

    event: Event
    request: WireRequest
    payload: Any
    dedupe_key: str
    signing_url: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    signed_at: int = 0
    """The Unix time the signature was computed for (a retry is signed later)."""


def with_default_port(url: str) -> str:
    """``https://host/p`` -> ``https://host:443/p`` (``:80`` for http); a set port stays."""
    parts = urlsplit(url)
    if parts.port is not None:
        return url
    port = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def join_url(base: str, path: str) -> str:
    if not path:
        return base
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query,
                       parts.fragment))


def _append_query(url: str, query: str) -> str:
    if not query:
        return url
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


class DeliveryBuilder:
    """Builds signed deliveries of one provider to one target.

    ``signing_url`` is the public URL the platform signs when a proxy sits in front of the
    target; ``hook_urls`` maps a hook group to its own URL (Frontline callbacks), and
    ``signing_urls`` a hook group to its own public URL. Behind a proxy, every delivery carries
    the ``X-Forwarded-*`` headers a proxy adds (``forwarded=False``: none), so that a receiver
    that rebuilds the public URL from them (werkzeug's ProxyFix, Express's ``trust proxy``)
    verifies over the URL the platform signed.
    """

    def __init__(
        self,
        provider: Provider,
        *,
        target_url: str,
        secret: str,
        signing_url: str | None = None,
        method: str | None = None,
        hook_urls: Mapping[str, str] | None = None,
        signing_urls: Mapping[str, str] | None = None,
        forwarded: bool = True,
        lane: tuple[int, int] = (0, 1),
        unique_bodies: bool = False,
    ) -> None:
        self.provider = provider
        self.target_url = target_url
        self.signing_target = signing_url
        self._secret = secret
        self.method = (method or provider.transport.default_method).upper()
        self.hook_urls = dict(hook_urls or {})
        self.signing_urls = dict(signing_urls or {})
        self.forwarded = forwarded
        self._signed_seconds: dict[bytes, set[int]] = {}
        self.lane = lane
        """(index, count): this process signs at the seconds ``s`` with ``s % count == index``,
        so that pytest-xdist workers never sign the same bytes at the same second."""
        self._seconds_lock = threading.Lock()
        self.unique_bodies = unique_bodies
        """Every body this builder signs is new (``hookproof load``: fresh ids in each): no
        need to remember the seconds each was signed at."""
        self.scheme: Scheme = scheme_for(provider.signature,
                                         encoding=provider.transport.encoding)

    def url_for(self, event: Event) -> str:
        """Where deliveries of ``event`` go: its hook group's URL, else the target URL."""
        if event.group and event.group in self.hook_urls:
            return self.hook_urls[event.group]
        path = self.provider.hook_groups.get(event.group or "", "")
        return join_url(self.target_url, path)

    def signing_url_for(self, event: Event) -> str | None:
        """The URL the platform signs for ``event`` (None: the URL it is sent to)."""
        if event.group and event.group in self.signing_urls:
            return self.signing_urls[event.group]
        if self.signing_target is None:
            return None
        if event.group and event.group in self.hook_urls:
            # the group's own URL as the public host serves it (the proxy keeps the path)
            public, own = urlsplit(self.signing_target), urlsplit(self.hook_urls[event.group])
            return urlunsplit((public.scheme, public.netloc, own.path, own.query, ""))
        return join_url(self.signing_target, self.provider.hook_groups.get(event.group or "", ""))

    def forwarded_headers(self, event: Event) -> dict[str, str]:
        """What a proxy in front of the target adds: the public scheme, host and port."""
        public = self.signing_url_for(event)
        if public is None or not self.forwarded:
            return {}
        parts = urlsplit(public)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": parts.scheme,
                "X-Forwarded-Host": parts.netloc.rpartition("@")[2],
                "X-Forwarded-Port": str(port)}

    def signed_url_for(self, event: Event) -> str:
        """The URL the platform signs for ``event``: the public one, else the target."""
        return self.signing_url_for(event) or self.url_for(event)

    def body_of(self, payload: Any) -> bytes:
        return encode_body(payload, self.provider.transport.encoding)

    def build(
        self,
        event: Event,
        payload: Any,
        *,
        body: bytes | None = None,
        dedupe_key: str | None = None,
        now: int | None = None,
        secret: str | None = None,
        signing_url: str | None = None,
        url: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        event_header: str | None = None,
        now_at_most: int | None = None,
    ) -> Delivery:
        """A signed delivery of ``payload`` (or of the exact ``body`` bytes).

        Signed at ``now`` exactly when given (a stale or future timestamp), else at the latest
        second (no later than ``now_at_most``) these bytes were not yet signed at.
        """
        key = dedupe_key or str(uuid.uuid4())
        target = url or self.url_for(event)
        signed_over = signing_url or self.signing_url_for(event)
        raw = self.body_of(payload) if body is None else body
        headers = self.provider.platform_headers(event.name, payload)
        if event_header and self.provider.event_header:
            headers[self.provider.event_header] = event_header
        headers.update(self.forwarded_headers(event))
        headers[self.provider.dedupe_header] = key
        if self.method == "GET":
            # GET carries the parameters in the query string, and nothing in the body
            query = raw.decode("ascii")
            target = _append_query(target, query)
            if signed_over is not None:
                signed_over = _append_query(signed_over, query)
            raw = b""
        else:
            headers["Content-Type"] = self.provider.transport.content_type
        headers.update(extra_headers or {})
        request = WireRequest(self.method, target, headers, raw)
        signed_at = self._second(target, raw, now, now_at_most)
        signed = self.scheme.sign(
            request,
            self._secret if secret is None else secret,
            now=signed_at,
            signing_url=signed_over,
        )
        return Delivery(event, signed, payload, key, signed_over, signed_at=signed_at)

    def _second(self, url: str, body: bytes, now: int | None, at_most: int | None) -> int:
        """The second to sign at: ``now`` if given, else the latest second no later than
        ``at_most`` (default: now) at which these exact bytes were not signed yet.

        A platform never signs the same bytes at the same second for two deliveries (each
        event's body carries its own ids), so a receiver may rightly refuse a signature it has
        already seen with another delivery id as a replay. The suite sends one canonical
        payload many times: each timestamped signature of it is made at a second of its own.
        """
        if not self.scheme.capabilities.timestamped or self.unique_bodies:
            return int(time.time()) if now is None else now
        key = hashlib.sha256(url.encode("utf-8") + b"\0" + body).digest()
        with self._seconds_lock:
            used = self._signed_seconds.setdefault(key, set())
            second = now
            if second is None:
                index, count = self.lane
                second = int(time.time()) if at_most is None else at_most
                second -= (second - index) % count
                while second in used:
                    second -= count
            used.add(second)
        return second

    def retry(self, delivery: Delivery, *, now: int | None = None) -> Delivery:
        """The same delivery again, as the platform retries it: later, signed anew.

        The dedupe key stays. Form (Twilio) retries carry the next ``RetryCount``; every
        scheme re-signs at ``now`` (default: the present), so a timestamped signature changes
        while the body does not: a receiver that dedupes on the signature processes it twice.
        """
        payload = delivery.payload
        body: bytes | None = delivery.request.body
        if self.provider.transport.encoding == "form":
            params = dict(payload) if isinstance(payload, Mapping) else decode_form(body or b"")
            count = str(params.get("RetryCount", "0"))
            params["RetryCount"] = str(int(count) + 1) if count.isdigit() else "1"
            payload, body = params, encode_form(params)
        if self.method == "GET":
            body = None  # rebuilt from the payload
        return self.build(
            delivery.event, payload, body=body, dedupe_key=delivery.dedupe_key, now=now
        )
