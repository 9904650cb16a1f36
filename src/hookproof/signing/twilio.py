"""Twilio's ``X-Twilio-Signature`` (form, GET and the ``bodySHA256`` variant)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final
from urllib.parse import unquote_to_bytes

from hookproof.signing.base import OK, Capabilities, Scheme, Verification, Window, reject
from hookproof.signing.primitives import (
    default_port_variants,
    hmac_digest,
    same,
    sha256_hex,
    strip_fragment,
)
from hookproof.transport.wire import WireRequest, header

SETTINGS_HEADER: Final = "X-Twilio-Webhooks-Signature-Settings"
"""The header Twilio adds to requests signed with a SharedKey."""

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
    return strip_fragment(url) + tail


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
    return base64.b64encode(hmac_digest(secret.encode("utf-8"), message, digest)).decode("ascii")


def twilio_body_hash_url(url: str, body: bytes) -> str:
    """``url`` with ``bodySHA256=<hex sha256(body)>`` as its last query parameter.

    Any ``bodySHA256`` already present is replaced (so re-signing is idempotent); the other
    query parameters are kept byte for byte. A fragment is dropped: it is never sent.
    """
    base, _, query = strip_fragment(url).partition("?")
    kept = [part for part in query.split("&") if part and part.partition("=")[0] != "bodySHA256"]
    kept.append(f"bodySHA256={sha256_hex(body)}")
    return f"{base}?{'&'.join(kept)}"


def _query_value(url: str, name: str) -> str | None:
    query = strip_fragment(url).partition("?")[2]
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return None


@dataclass(frozen=True)
class TwilioScheme(Scheme):
    """``X-Twilio-Signature`` (form and GET) or the ``bodySHA256`` variant (JSON bodies)."""

    header: str = "X-Twilio-Signature"
    algorithm: str = "HMAC-SHA1"
    body_hash: bool = False
    key_id: str = "hookproof"
    name: ClassVar[str] = "twilio"

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", _twilio_algorithm(self.algorithm))

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(signs_url=True, port_variants=True, body_hash=self.body_hash)

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

    def _content(self, request: WireRequest, url: str, now: int) -> bytes:
        if self._uses_body_hash(request):
            url = twilio_body_hash_url(url, request.body)
        return self._string(url, request).encode("utf-8")

    def _signed(self, request: WireRequest, secret: str, url: str, now: int) -> WireRequest:
        # with body_hash the returned request's URL carries bodySHA256
        digest = _TWILIO_ALGORITHMS[self.algorithm]
        content = self._content(request, url, now)
        mac = hmac_digest(secret.encode("utf-8"), content, digest)
        value = base64.b64encode(mac).decode("ascii")
        sent = request
        if self._uses_body_hash(request):
            sent = request.with_url(twilio_body_hash_url(request.url, request.body))
        added = {self.header: value}
        settings = self.settings_header_value
        if settings is not None:
            added[SETTINGS_HEADER] = settings
        return sent.with_headers(added)

    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verification:
        """Check the signature over the URL with and without the default port, then (JSON) that
        ``bodySHA256`` in the URL is the SHA-256 of the raw body. No timestamp is involved."""
        received = header(request, self.header)
        if received is None:
            return reject("missing", f"no {self.header} header")
        try:
            decoded = base64.b64decode(received, validate=True)
        except (binascii.Error, ValueError):
            return reject("malformed", f"{self.header} is not Base64")
        if len(decoded) != _TWILIO_DIGEST_SIZES[self.algorithm]:
            return reject("malformed", f"{self.header} is not a {self.algorithm} digest")
        digest = _TWILIO_ALGORITHMS[self.algorithm]
        key = secret.encode("utf-8")
        params = (
            [] if request.method.upper() == "GET" or self.body_hash else parse_form(request.body)
        )
        matched = False
        for candidate in default_port_variants(url):
            message = twilio_signing_string(candidate, params).encode("utf-8")
            expected = base64.b64encode(hmac_digest(key, message, digest)).decode("ascii")
            # No short-circuit: both variants are always computed and compared.
            matched = same(received, expected) | matched
        if not matched:
            return reject("mismatch", "no URL variant matches")
        if self._uses_body_hash(request):
            claimed = _query_value(url, "bodySHA256")
            if claimed is None or not same(claimed, sha256_hex(request.body)):
                return reject("body-hash", "bodySHA256 does not match the raw body")
        return OK
