"""Sign and verify webhook requests exactly as each platform does.

One module, one small piece per scheme:

* ``twilio``: ``X-Twilio-Signature``, Base64 HMAC-SHA1 (Auth Token) over the URL plus the sorted
  form parameters, or over the URL carrying ``bodySHA256`` for JSON bodies. The SharedKey variant
  uses HMAC-SHA256 and announces itself in ``X-Twilio-Webhooks-Signature-Settings``.
* ``varda``: ``X-Varda-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>``.
* ``operator``: ``X-Signature`` = hex HMAC-SHA256 over
  ``"{url}:{X-Idempotency-Key}:{X-Timestamp}:{body}"`` with the URL's query string removed.
* ``standard-webhooks``: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>``.

The schemes are built from small pure functions (``twilio_signature``, ``varda_signature``, ...)
that are exported for tests and for :mod:`hookproof.vectors`. Every comparison of a received
signature with an expected one goes through :func:`hmac.compare_digest`.

The step-by-step algorithms and the known-answer vectors are in the provider reference
(``twilio-conversations.md`` §2-§3, ``twilio-orchestrator.md`` §2-§3, ``twilio-frontline.md`` §2-§3,
``varda.md`` §2, ``operator.md`` §2, ``standard-webhooks.md`` §2).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, Protocol
from urllib.parse import unquote_to_bytes

__all__ = [
    "SETTINGS_HEADER",
    "OperatorScheme",
    "Reason",
    "Scheme",
    "StandardWebhooksScheme",
    "TwilioScheme",
    "VardaScheme",
    "Verdict",
    "WireRequest",
    "default_port_variants",
    "header",
    "operator_signature",
    "operator_signing_string",
    "parse_form",
    "scheme_for",
    "sha256_hex",
    "standard_webhooks_key",
    "standard_webhooks_signature",
    "standard_webhooks_signing_string",
    "twilio_body_hash_url",
    "twilio_signature",
    "twilio_signing_string",
    "url_without_query",
    "varda_signature",
    "varda_signing_string",
]

Reason = Literal["ok", "missing", "malformed", "mismatch", "body-hash", "stale", "future"]

#: Header Twilio adds to requests signed with a SharedKey.
SETTINGS_HEADER: Final = "X-Twilio-Webhooks-Signature-Settings"

_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_DIGITS: Final = re.compile(r"[0-9]+", re.ASCII)
_UNIX_SECONDS: Final = re.compile(r"[0-9]{1,12}", re.ASCII)
"""A Unix timestamp: bounded, so that a hostile 5,000-digit value is refused before int()."""
_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)


# --------------------------------------------------------------------------------------------------
# Request and verdict
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request exactly as it goes on the wire (or as a receiver sees it)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        # Own a private copy so that a caller mutating its dict cannot change a signed request.
        object.__setattr__(self, "headers", dict(self.headers))

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        return header(self, name)

    def with_headers(self, headers: Mapping[str, str] | None = None, /, **more: str) -> WireRequest:
        """A copy with these headers added; an existing header of the same name (in any case) is
        replaced. Keyword names are used literally, so pass hyphenated names in the mapping."""
        updates = {**(headers or {}), **more}
        lowered = {name.lower() for name in updates}
        kept = {k: v for k, v in self.headers.items() if k.lower() not in lowered}
        return replace(self, headers={**kept, **updates})

    def without_headers(self, *names: str) -> WireRequest:
        """A copy without these headers (case-insensitive)."""
        lowered = {name.lower() for name in names}
        return replace(
            self, headers={k: v for k, v in self.headers.items() if k.lower() not in lowered}
        )

    def with_body(self, body: bytes) -> WireRequest:
        return replace(self, body=body)

    def with_url(self, url: str) -> WireRequest:
        return replace(self, url=url)


def header(request: WireRequest, name: str) -> str | None:
    """Case-insensitive header lookup: the value of ``name`` on ``request``, or ``None``."""
    wanted = name.lower()
    for key, value in request.headers.items():
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one request. Truthy only when ``ok``."""

    ok: bool
    reason: Reason
    detail: str = field(default="", compare=False)

    def __bool__(self) -> bool:
        return self.ok


_OK: Final = Verdict(True, "ok")


def _reject(reason: Reason, detail: str = "") -> Verdict:
    return Verdict(False, reason, detail)


class Scheme(Protocol):
    """What every signing scheme offers."""

    @property
    def name(self) -> str: ...

    @property
    def header(self) -> str:
        """The signature header name."""
        ...

    @property
    def timestamped(self) -> bool:
        """Whether a timestamp is signed (the scheme has a replay window)."""
        ...

    @property
    def signs_url(self) -> bool:
        """Whether the URL is part of what is signed (a tampered URL must be refused)."""
        ...

    @property
    def port_variants(self) -> bool:
        """Whether the platform may sign the URL with or without its default port (Twilio),
        so a receiver must accept both."""
        ...

    @property
    def body_hash(self) -> bool:
        """Whether a hash of the body travels in the signed URL (Twilio's ``bodySHA256``)."""
        ...

    def signed_content(
        self, request: WireRequest, *, now: int, signing_url: str | None = None
    ) -> bytes:
        """The exact bytes :meth:`sign` feeds to the MAC for this request."""
        ...

    def sign(
        self, request: WireRequest, secret: str, *, now: int, signing_url: str | None = None
    ) -> WireRequest: ...

    def verify(
        self,
        request: WireRequest,
        secret: str,
        *,
        now: int,
        public_url: str | None = None,
        tolerance: int | None = None,
        future_tolerance: int | None = None,
    ) -> Verdict: ...


# --------------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------------


def sha256_hex(body: bytes) -> str:
    """Lower-case hex SHA-256 of ``body``."""
    return hashlib.sha256(body).hexdigest()


def _hmac(key: bytes, message: bytes, digest: str) -> bytes:
    return hmac.new(key, message, digest).digest()


def _same(received: str, expected: str) -> bool:
    """Constant-time equality of two signature strings (any text is accepted as received)."""
    return hmac.compare_digest(received.encode("utf-8", "surrogatepass"), expected.encode("ascii"))


def _strip_fragment(url: str) -> str:
    return url.partition("#")[0]


def url_without_query(url: str) -> str:
    """``url`` with its query string (and any fragment) removed, the rest untouched."""
    return _strip_fragment(url).partition("?")[0]


def _freshness(
    timestamp: int, now: int, tolerance: int | None, future_tolerance: int | None
) -> Verdict:
    if tolerance is not None and now - timestamp > tolerance:
        return _reject("stale", f"timestamp {timestamp} is {now - timestamp} s old")
    if future_tolerance is not None and timestamp - now > future_tolerance:
        return _reject("future", f"timestamp {timestamp} is {timestamp - now} s ahead")
    return _OK


def _split_netloc(url: str) -> tuple[str, str, str] | None:
    """Split ``url`` into (``scheme://``, netloc, rest) without re-serialising anything."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            end = min(end, index)
    return scheme + sep, rest[:end], rest[end:]


def default_port_variants(url: str) -> tuple[str, ...]:
    """``url`` itself, then the same URL with the default port toggled.

    ``https://host/p`` gives ``("https://host/p", "https://host:443/p")`` and
    ``http://host:80/p`` gives ``("http://host:80/p", "http://host/p")``. A URL with a non-default
    port, or of another scheme, gives only itself. Nothing else in the URL is touched.
    """
    parts = _split_netloc(url)
    if parts is None:
        return (url,)
    prefix, netloc, rest = parts
    default = _DEFAULT_PORTS.get(prefix[:-3].lower())
    if default is None:
        return (url,)
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        close = hostport.find("]")
        if close == -1:
            return (url,)
        host, after = hostport[: close + 1], hostport[close + 1 :]
        port = after[1:] if after.startswith(":") else None
        if after and port is None:
            return (url,)
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
    if port is None:
        new_hostport = f"{host}:{default}"
    elif _DIGITS.fullmatch(port) and int(port) == default:
        new_hostport = host
    else:
        return (url,)
    return (url, f"{prefix}{userinfo}{at}{new_hostport}{rest}")


# --------------------------------------------------------------------------------------------------
# Twilio
# --------------------------------------------------------------------------------------------------

_TWILIO_ALGORITHMS: Final = {"HMAC-SHA1": "sha1", "HMAC-SHA256": "sha256"}
_TWILIO_DIGEST_SIZES: Final = {"HMAC-SHA1": 20, "HMAC-SHA256": 32}


def _twilio_algorithm(algorithm: str) -> str:
    normal = algorithm.strip().upper().replace("_", "-")
    if normal not in _TWILIO_ALGORITHMS:
        raise ValueError(
            f"unsupported Twilio signature algorithm {algorithm!r}; use HMAC-SHA1 or HMAC-SHA256"
        )
    return normal


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Decode an ``application/x-www-form-urlencoded`` body into (name, value) pairs, in wire order.

    ``+`` becomes a space and ``%XX`` a byte, then the bytes are read as UTF-8. A piece without
    ``=`` is a name with an empty value; empty pieces (``a=1&&b=2``) are skipped.
    """
    pairs: list[tuple[str, str]] = []
    for piece in body.split(b"&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition(b"=")
        pairs.append((_form_decode(raw_name), _form_decode(raw_value)))
    return pairs


def _form_decode(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def _pairs(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    if isinstance(params, Mapping):
        return params.items()
    return params


def twilio_signing_string(
    url: str, params: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> str:
    """The string Twilio HMACs: the URL (without fragment), then each parameter as name+value.

    Names are sorted by byte order; the values of a repeated name are de-duplicated, then sorted.
    An empty value contributes just the name. Pass ``()`` for GET and for JSON bodies.
    """
    grouped: dict[str, set[str]] = {}
    for name, value in _pairs(params):
        grouped.setdefault(name, set()).add(value)
    # Code-point order of str equals byte order of their UTF-8 encodings.
    tail = "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))
    return _strip_fragment(url) + tail


def twilio_signature(
    url: str,
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    secret: str,
    algorithm: str = "HMAC-SHA1",
) -> str:
    """``X-Twilio-Signature`` for ``url`` and decoded form ``params``: Base64 (padded) HMAC keyed
    with the UTF-8 ``secret`` (Auth Token, or SharedKey secret with ``HMAC-SHA256``)."""
    digest = _TWILIO_ALGORITHMS[_twilio_algorithm(algorithm)]
    message = twilio_signing_string(url, params).encode("utf-8")
    return base64.b64encode(_hmac(secret.encode("utf-8"), message, digest)).decode("ascii")


def twilio_body_hash_url(url: str, body: bytes) -> str:
    """``url`` with ``bodySHA256=<hex sha256(body)>`` as its last query parameter.

    Any ``bodySHA256`` already present is replaced (so re-signing is idempotent); the other
    query parameters are kept byte for byte. A fragment is dropped: it is never sent.
    """
    base, _, query = _strip_fragment(url).partition("?")
    kept = [part for part in query.split("&") if part and part.partition("=")[0] != "bodySHA256"]
    kept.append(f"bodySHA256={sha256_hex(body)}")
    return f"{base}?{'&'.join(kept)}"


def _query_value(url: str, name: str) -> str | None:
    query = _strip_fragment(url).partition("?")[2]
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return None


@dataclass(frozen=True)
class TwilioScheme:
    """``X-Twilio-Signature`` (form and GET) or the ``bodySHA256`` variant (JSON bodies)."""

    header: str = "X-Twilio-Signature"
    algorithm: str = "HMAC-SHA1"
    body_hash: bool = False
    key_id: str = "hookproof"
    name: str = field(default="twilio", init=False)
    signs_url: bool = field(default=True, init=False)
    port_variants: bool = field(default=True, init=False)
    timestamped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", _twilio_algorithm(self.algorithm))

    @property
    def settings_header_value(self) -> str | None:
        """``X-Twilio-Webhooks-Signature-Settings`` for the SharedKey variant, else ``None``."""
        if self.algorithm == "HMAC-SHA1":
            return None
        return f"key={self.key_id},algorithm={self.algorithm.replace('-', '_')}"

    def _uses_body_hash(self, request: WireRequest) -> bool:
        return self.body_hash and request.method.upper() != "GET"

    def _string(self, url: str, request: WireRequest) -> str:
        if request.method.upper() == "GET" or self.body_hash:
            return twilio_signing_string(url)
        return twilio_signing_string(url, parse_form(request.body))

    def _signed_url(self, request: WireRequest, signing_url: str | None) -> str:
        url = request.url if signing_url is None else signing_url
        if self._uses_body_hash(request):
            return twilio_body_hash_url(url, request.body)
        return url

    def signed_content(
        self, request: WireRequest, *, now: int = 0, signing_url: str | None = None
    ) -> bytes:
        return self._string(self._signed_url(request, signing_url), request).encode("utf-8")

    def sign(
        self, request: WireRequest, secret: str, *, now: int = 0, signing_url: str | None = None
    ) -> WireRequest:
        """Sign ``request``; with ``body_hash`` the returned request's URL has ``bodySHA256``."""
        digest = _TWILIO_ALGORITHMS[self.algorithm]
        content = self.signed_content(request, signing_url=signing_url)
        value = base64.b64encode(_hmac(secret.encode("utf-8"), content, digest)).decode("ascii")
        sent = request
        if self._uses_body_hash(request):
            sent = request.with_url(twilio_body_hash_url(request.url, request.body))
        added = {self.header: value}
        settings = self.settings_header_value
        if settings is not None:
            added[SETTINGS_HEADER] = settings
        return sent.with_headers(added)

    def verify(
        self,
        request: WireRequest,
        secret: str,
        *,
        now: int = 0,
        public_url: str | None = None,
        tolerance: int | None = None,
        future_tolerance: int | None = None,
    ) -> Verdict:
        """Check the signature over the URL with and without the default port, then (JSON) that
        ``bodySHA256`` in the URL is the SHA-256 of the raw body. No timestamp is involved."""
        received = header(request, self.header)
        if received is None:
            return _reject("missing", f"no {self.header} header")
        try:
            decoded = base64.b64decode(received, validate=True)
        except (binascii.Error, ValueError):
            return _reject("malformed", f"{self.header} is not Base64")
        if len(decoded) != _TWILIO_DIGEST_SIZES[self.algorithm]:
            return _reject("malformed", f"{self.header} is not a {self.algorithm} digest")
        url = request.url if public_url is None else public_url
        digest = _TWILIO_ALGORITHMS[self.algorithm]
        key = secret.encode("utf-8")
        params = (
            [] if request.method.upper() == "GET" or self.body_hash else parse_form(request.body)
        )
        matched = False
        for candidate in default_port_variants(url):
            message = twilio_signing_string(candidate, params).encode("utf-8")
            expected = base64.b64encode(_hmac(key, message, digest)).decode("ascii")
            # No short-circuit: both variants are always computed and compared.
            matched = _same(received, expected) | matched
        if not matched:
            return _reject("mismatch", "no URL variant matches")
        if self._uses_body_hash(request):
            claimed = _query_value(url, "bodySHA256")
            if claimed is None or not _same(claimed, sha256_hex(request.body)):
                return _reject("body-hash", "bodySHA256 does not match the raw body")
        return _OK


# --------------------------------------------------------------------------------------------------
# Varda
# --------------------------------------------------------------------------------------------------


def varda_signing_string(timestamp: int, body: bytes) -> bytes:
    """``"{t}.{raw body}"``."""
    return f"{timestamp}.".encode("ascii") + body


def varda_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1``: lower-case hex HMAC-SHA256 keyed with the UTF-8 secret over ``"{t}.{body}"``."""
    message = varda_signing_string(timestamp, body)
    return hmac.new(secret.encode("utf-8"), message, "sha256").hexdigest()


def _parse_kv_header(value: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for part in value.split(","):
        key, eq, item = part.partition("=")
        if eq:
            pairs.append((key.strip(), item.strip()))
    return pairs


@dataclass(frozen=True)
class VardaScheme:
    """``X-Varda-Signature: t=<unix>,v1=<hex>``. Documented window: 300 s both ways."""

    header: str = "X-Varda-Signature"
    name: str = field(default="varda", init=False)
    signs_url: bool = field(default=False, init=False)
    port_variants: bool = field(default=False, init=False)
    body_hash: bool = field(default=False, init=False)
    timestamped: bool = field(default=True, init=False)
    default_tolerance: int = field(default=300, init=False)
    default_future_tolerance: int = field(default=300, init=False)

    def signed_content(
        self, request: WireRequest, *, now: int, signing_url: str | None = None
    ) -> bytes:
        return varda_signing_string(now, request.body)

    def sign(
        self, request: WireRequest, secret: str, *, now: int, signing_url: str | None = None
    ) -> WireRequest:
        """Set the header for timestamp ``now``. The URL is not signed."""
        return request.with_headers(
            {self.header: f"t={now},v1={varda_signature(secret, now, request.body)}"}
        )

    def verify(
        self,
        request: WireRequest,
        secret: str,
        *,
        now: int,
        public_url: str | None = None,
        tolerance: int | None = None,
        future_tolerance: int | None = None,
    ) -> Verdict:
        received = header(request, self.header)
        if received is None:
            return _reject("missing", f"no {self.header} header")
        pairs = _parse_kv_header(received)
        stamps = {value for key, value in pairs if key == "t"}
        candidates = [value for key, value in pairs if key == "v1"]
        if len(stamps) != 1 or not candidates:
            return _reject("malformed", "need exactly one t and at least one v1")
        stamp = stamps.pop()
        if not _UNIX_SECONDS.fullmatch(stamp):
            return _reject("malformed", f"t={stamp[:20]!r} is not unix seconds")
        timestamp = int(stamp)
        expected = varda_signature(secret, timestamp, request.body)
        matched = False
        for candidate in candidates:
            matched = _same(candidate, expected) | matched
        if not matched:
            return _reject("mismatch", "no v1 matches")
        return _freshness(timestamp, now, tolerance, future_tolerance)


# --------------------------------------------------------------------------------------------------
# Operator
# --------------------------------------------------------------------------------------------------


def operator_signing_string(url: str, idempotency_key: str, timestamp: int, body: bytes) -> bytes:
    """``"{url}:{X-Idempotency-Key}:{X-Timestamp}:{raw body}"`` with ``url`` used as given."""
    return f"{url}:{idempotency_key}:{timestamp}:".encode() + body


def operator_signature(
    secret: str, url: str, idempotency_key: str, timestamp: int, body: bytes
) -> str:
    """``X-Signature``: lower-case hex HMAC-SHA256 keyed with the UTF-8 signing key.

    ``url`` is signed as given; the scheme passes it through :func:`url_without_query` first.
    """
    message = operator_signing_string(url, idempotency_key, timestamp, body)
    return hmac.new(secret.encode("utf-8"), message, "sha256").hexdigest()


@dataclass(frozen=True)
class OperatorScheme:
    """``X-Signature`` over URL (no query), idempotency key, ``X-Timestamp`` and body.
    Documented window: 30 s both ways."""

    header: str = "X-Signature"
    timestamp_header: str = "X-Timestamp"
    idempotency_header: str = "X-Idempotency-Key"
    name: str = field(default="operator", init=False)
    signs_url: bool = field(default=True, init=False)
    port_variants: bool = field(default=False, init=False)
    body_hash: bool = field(default=False, init=False)
    timestamped: bool = field(default=True, init=False)
    default_tolerance: int = field(default=30, init=False)
    default_future_tolerance: int = field(default=30, init=False)

    def _key(self, request: WireRequest) -> str:
        key = header(request, self.idempotency_header)
        if key is None:
            raise ValueError(f"set {self.idempotency_header} on the request before signing")
        return key

    def signed_content(
        self, request: WireRequest, *, now: int, signing_url: str | None = None
    ) -> bytes:
        url = url_without_query(request.url if signing_url is None else signing_url)
        return operator_signing_string(url, self._key(request), now, request.body)

    def sign(
        self, request: WireRequest, secret: str, *, now: int, signing_url: str | None = None
    ) -> WireRequest:
        """Set ``X-Timestamp`` to ``now`` and ``X-Signature``. Needs ``X-Idempotency-Key``."""
        url = url_without_query(request.url if signing_url is None else signing_url)
        value = operator_signature(secret, url, self._key(request), now, request.body)
        return request.with_headers({self.timestamp_header: str(now), self.header: value})

    def verify(
        self,
        request: WireRequest,
        secret: str,
        *,
        now: int,
        public_url: str | None = None,
        tolerance: int | None = None,
        future_tolerance: int | None = None,
    ) -> Verdict:
        received = header(request, self.header)
        if received is None:
            return _reject("missing", f"no {self.header} header")
        stamp = header(request, self.timestamp_header)
        if stamp is None:
            return _reject("missing", f"no {self.timestamp_header} header")
        key = header(request, self.idempotency_header)
        if key is None:
            return _reject("missing", f"no {self.idempotency_header} header")
        if not _UNIX_SECONDS.fullmatch(stamp):
            return _reject("malformed",
                           f"{self.timestamp_header}={stamp[:20]!r} is not unix seconds")
        if not _HEX64.fullmatch(received):
            return _reject("malformed", f"{self.header} is not 64 hex digits")
        timestamp = int(stamp)
        url = url_without_query(request.url if public_url is None else public_url)
        expected = operator_signature(secret, url, key, timestamp, request.body)
        if not _same(received, expected):
            return _reject("mismatch", f"{self.header} does not match")
        return _freshness(timestamp, now, tolerance, future_tolerance)


# --------------------------------------------------------------------------------------------------
# Standard Webhooks
# --------------------------------------------------------------------------------------------------


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (prefix optional, unpadded base64 accepted)."""
    text = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a Standard Webhooks secret may not be empty")
    return key


def standard_webhooks_signing_string(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """``"{webhook-id}.{webhook-timestamp}.{raw body}"``."""
    return f"{msg_id}.{timestamp}.".encode() + body


def standard_webhooks_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Base64 ``v1`` signature (without the ``v1,`` prefix)."""
    message = standard_webhooks_signing_string(msg_id, timestamp, body)
    digest = _hmac(standard_webhooks_key(secret), message, "sha256")
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class StandardWebhooksScheme:
    """``webhook-signature: v1,<base64>`` over ``webhook-id``, ``webhook-timestamp`` and the body.
    Documented window: 300 s both ways."""

    header: str = "webhook-signature"
    id_header: str = "webhook-id"
    timestamp_header: str = "webhook-timestamp"
    name: str = field(default="standard-webhooks", init=False)
    signs_url: bool = field(default=False, init=False)
    port_variants: bool = field(default=False, init=False)
    body_hash: bool = field(default=False, init=False)
    timestamped: bool = field(default=True, init=False)
    default_tolerance: int = field(default=300, init=False)
    default_future_tolerance: int = field(default=300, init=False)

    def _msg_id(self, request: WireRequest) -> str:
        msg_id = header(request, self.id_header)
        if msg_id is None:
            raise ValueError(f"set {self.id_header} on the request before signing")
        return msg_id

    def signed_content(
        self, request: WireRequest, *, now: int, signing_url: str | None = None
    ) -> bytes:
        return standard_webhooks_signing_string(self._msg_id(request), now, request.body)

    def sign(
        self, request: WireRequest, secret: str, *, now: int, signing_url: str | None = None
    ) -> WireRequest:
        """Set ``webhook-timestamp`` to ``now`` and ``webhook-signature``. Needs ``webhook-id``."""
        value = standard_webhooks_signature(secret, self._msg_id(request), now, request.body)
        return request.with_headers({self.timestamp_header: str(now), self.header: f"v1,{value}"})

    def verify(
        self,
        request: WireRequest,
        secret: str,
        *,
        now: int,
        public_url: str | None = None,
        tolerance: int | None = None,
        future_tolerance: int | None = None,
    ) -> Verdict:
        msg_id = header(request, self.id_header)
        if not msg_id:
            return _reject("missing", f"no {self.id_header} header")
        stamp = header(request, self.timestamp_header)
        if not stamp:
            return _reject("missing", f"no {self.timestamp_header} header")
        received = header(request, self.header)
        if not received:
            return _reject("missing", f"no {self.header} header")
        if not _UNIX_SECONDS.fullmatch(stamp):
            return _reject("malformed",
                           f"{self.timestamp_header}={stamp[:20]!r} is not unix seconds")
        entries = [entry.partition(",") for entry in received.split(" ") if entry]
        versioned = [(version, value) for version, comma, value in entries if comma]
        if not versioned:
            return _reject("malformed", f"{self.header} has no <version>,<signature> entry")
        timestamp = int(stamp)
        expected = standard_webhooks_signature(secret, msg_id, timestamp, request.body)
        matched = False
        for version, value in versioned:
            if version == "v1":  # unknown versions (v1a, v2, ...) are skipped
                matched = _same(value, expected) | matched
        if not matched:
            return _reject("mismatch", "no v1 signature matches")
        return _freshness(timestamp, now, tolerance, future_tolerance)


# --------------------------------------------------------------------------------------------------
# A declarative HMAC scheme: what GitHub, Stripe and many others do, described in a manifest
# --------------------------------------------------------------------------------------------------

_HMAC_DIGESTS = {"sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}
_TEMPLATE_FIELDS = ("{timestamp}", "{id}", "{url}", "{body}")


@dataclass(frozen=True)
class HmacScheme:
    """``header: <value>`` where the value is ``format`` with ``{signature}`` (and, Stripe
    style, ``{timestamp}``) filled in; the signature is the HMAC (``algorithm``, ``hex`` or
    ``base64``) of ``template`` over ``{timestamp}``, ``{id}`` (``id_header``), ``{url}`` and
    ``{body}`` (the raw body). A timestamp goes in ``timestamp_header``, or in the value
    itself when ``format`` holds ``{timestamp}``.

    GitHub: ``header: X-Hub-Signature-256``, ``format: "sha256={signature}"``,
    ``template: "{body}"``. Stripe: ``header: Stripe-Signature``,
    ``format: "t={timestamp},v1={signature}"``, ``template: "{timestamp}.{body}"``.
    """

    header: str
    algorithm: str = "sha256"
    encoding: str = "hex"
    format: str = "{signature}"
    template: str = "{body}"
    timestamp_header: str | None = None
    id_header: str | None = None
    name: str = field(default="hmac", init=False)
    port_variants: bool = field(default=False, init=False)
    body_hash: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.algorithm not in _HMAC_DIGESTS:
            raise ValueError(f"signature.algorithm {self.algorithm!r}: one of "
                             f"{', '.join(_HMAC_DIGESTS)}")
        if self.encoding not in ("hex", "base64"):
            raise ValueError(f"signature.encoding {self.encoding!r}: hex or base64")
        if self.format.count("{signature}") != 1:
            raise ValueError("signature.format must hold {signature} once")
        leftover = self.template
        for name in _TEMPLATE_FIELDS:
            leftover = leftover.replace(name, "")
        if "{" in leftover or "}" in leftover or "{body}" not in self.template:
            raise ValueError("signature.template is text with {timestamp}, {id}, {url} and "
                             "{body} (which it must hold)")
        if "{timestamp}" in self.template and not self.timestamped:
            raise ValueError("signature.template signs {timestamp}: give "
                             "signature.timestamp_header, or {timestamp} in signature.format")
        if "{id}" in self.template and not self.id_header:
            raise ValueError("signature.template signs {id}: give signature.id_header")

    @property
    def timestamped(self) -> bool:
        return self.timestamp_header is not None or "{timestamp}" in self.format

    @property
    def signs_url(self) -> bool:
        return "{url}" in self.template

    def _content(self, request: WireRequest, timestamp: int | str, url: str) -> bytes:
        text = self.template.replace("{timestamp}", str(timestamp)).replace("{url}", url)
        if self.id_header:
            text = text.replace("{id}", header(request, self.id_header) or "")
        before, _, after = text.partition("{body}")
        return before.encode("utf-8") + request.body + after.encode("utf-8")

    def _mac(self, secret: str, content: bytes) -> str:
        digest = _hmac(secret.encode("utf-8"), content, _HMAC_DIGESTS[self.algorithm])
        return digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode()

    def signed_content(
        self, request: WireRequest, *, now: int, signing_url: str | None = None
    ) -> bytes:
        return self._content(request, now, _strip_fragment(signing_url or request.url))

    def sign(
        self, request: WireRequest, secret: str, *, now: int, signing_url: str | None = None
    ) -> WireRequest:
        signature = self._mac(secret, self.signed_content(request, now=now,
                                                          signing_url=signing_url))
        value = self.format.replace("{signature}", signature).replace("{timestamp}", str(now))
        headers = {self.header: value}
        if self.timestamp_header:
            headers[self.timestamp_header] = str(now)
        return request.with_headers(headers)

    def _parse(self, value: str) -> tuple[str, str | None] | None:
        pattern = "^" + re.escape(self.format).replace(
            re.escape("{signature}"), "(?P<signature>[^,;\\s]+)").replace(
            re.escape("{timestamp}"), "(?P<timestamp>[^,;\\s]*)") + "$"
        match = re.match(pattern, value)
        if match is None:
            return None
        return match.group("signature"), match.groupdict().get("timestamp")

    def verify(
        self,
        request: WireRequest,
        secret: str,
        *,
        now: int,
        public_url: str | None = None,
        tolerance: int | None = None,
        future_tolerance: int | None = None,
    ) -> Verdict:
        received = header(request, self.header)
        if not received:
            return _reject("missing", f"no {self.header} header")
        parsed = self._parse(received)
        if parsed is None:
            return _reject("malformed", f"{self.header} is not {self.format}")
        signature, stamp = parsed
        if self.timestamp_header:
            stamp = header(request, self.timestamp_header)
            if not stamp:
                return _reject("missing", f"no {self.timestamp_header} header")
        if stamp is not None and not _UNIX_SECONDS.fullmatch(stamp):
            return _reject("malformed", f"the timestamp {stamp[:20]!r} is not unix seconds")
        url = _strip_fragment(public_url or request.url)
        expected = self._mac(secret, self._content(request, stamp or "", url))
        if not _same(signature, expected):
            return _reject("mismatch", "the signature does not match")
        if stamp is None:
            return _OK
        return _freshness(int(stamp), now, tolerance, future_tolerance)


# --------------------------------------------------------------------------------------------------
# Manifest mapping -> scheme
# --------------------------------------------------------------------------------------------------


def _text(signature: Mapping[str, Any], key: str, default: str) -> str:
    value = signature.get(key, default)
    if not isinstance(value, str) or not value:
        raise ValueError(f"signature.{key} must be a non-empty string, got {value!r}")
    return value


def scheme_for(signature: Mapping[str, Any], *, encoding: str) -> Scheme:
    """The scheme described by a manifest's ``signature`` mapping, for bodies of ``encoding``
    (``"form"`` or ``"json"``).

    Recognised keys: ``scheme`` (``twilio`` | ``varda`` | ``operator`` | ``standard-webhooks``),
    ``header``; Twilio: ``algorithm`` (``HMAC-SHA1`` default, ``HMAC-SHA256`` = SharedKey),
    ``body_hash`` (defaults to ``encoding == "json"``), ``key_id``; Operator:
    ``timestamp_header``, ``idempotency_header``.
    """
    if encoding not in ("form", "json"):
        raise ValueError(f"encoding must be 'form' or 'json', got {encoding!r}")
    kind = signature.get("scheme")
    if kind == "twilio":
        body_hash = signature.get("body_hash", encoding == "json")
        if not isinstance(body_hash, bool):
            raise ValueError(f"signature.body_hash must be a boolean, got {body_hash!r}")
        if body_hash != (encoding == "json"):
            raise ValueError(
                "Twilio signs JSON bodies with bodySHA256 and form bodies by their parameters: "
                f"body_hash={body_hash} does not fit encoding {encoding!r}"
            )
        return TwilioScheme(
            header=_text(signature, "header", "X-Twilio-Signature"),
            algorithm=_text(signature, "algorithm", "HMAC-SHA1"),
            body_hash=body_hash,
            key_id=_text(signature, "key_id", "hookproof"),
        )
    if kind == "varda":
        return VardaScheme(header=_text(signature, "header", "X-Varda-Signature"))
    if kind == "operator":
        return OperatorScheme(
            header=_text(signature, "header", "X-Signature"),
            timestamp_header=_text(signature, "timestamp_header", "X-Timestamp"),
            idempotency_header=_text(signature, "idempotency_header", "X-Idempotency-Key"),
        )
    if kind == "standard-webhooks":
        return StandardWebhooksScheme(header=_text(signature, "header", "webhook-signature"))
    if kind == "hmac":
        optional = {key: _text(signature, key, "") for key in ("timestamp_header", "id_header")
                    if signature.get(key) is not None}
        return HmacScheme(
            header=_text(signature, "header", ""),
            algorithm=_text(signature, "algorithm", "sha256").lower(),
            encoding=_text(signature, "encoding", "hex"),
            format=_text(signature, "format", "{signature}"),
            template=_text(signature, "template", "{body}"),
            **optional,
        )
    raise ValueError(f"unknown signature scheme {kind!r} (twilio, varda, operator, "
                     "standard-webhooks or hmac)")
