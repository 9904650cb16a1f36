"""A declarative HMAC scheme, described in a manifest (GitHub, Stripe and many more)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import ClassVar

from hookproof.signing.base import OK, Capabilities, Scheme, Verification, Window, reject
from hookproof.signing.primitives import UNIX_SECONDS, hmac_digest, same, strip_fragment
from hookproof.transport.wire import WireRequest, header

_HMAC_DIGESTS = {"sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}
_TEMPLATE_FIELDS = ("{timestamp}", "{id}", "{url}", "{body}")


@dataclass(frozen=True)
class HmacScheme(Scheme):
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
    name: ClassVar[str] = "hmac"

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
        if "{timestamp}" in self.template and not self.capabilities.timestamped:
            raise ValueError("signature.template signs {timestamp}: give "
                             "signature.timestamp_header, or {timestamp} in signature.format")
        if "{id}" in self.template and not self.id_header:
            raise ValueError("signature.template signs {id}: give signature.id_header")

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            signs_url="{url}" in self.template,
            timestamped=self.timestamp_header is not None or "{timestamp}" in self.format)

    def _text(self, request: WireRequest, timestamp: int | str, url: str) -> bytes:
        text = self.template.replace("{timestamp}", str(timestamp)).replace("{url}", url)
        if self.id_header:
            text = text.replace("{id}", header(request, self.id_header) or "")
        before, _, after = text.partition("{body}")
        return before.encode("utf-8") + request.body + after.encode("utf-8")

    def _mac(self, secret: str, content: bytes) -> str:
        digest = hmac_digest(secret.encode("utf-8"), content, _HMAC_DIGESTS[self.algorithm])
        return digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode()

    def _content(self, request: WireRequest, url: str, now: int) -> bytes:
        return self._text(request, now, strip_fragment(url))

    def _headers(self, secret: str, content: bytes, now: int) -> dict[str, str]:
        signature = self._mac(secret, content)
        value = self.format.replace("{signature}", signature).replace("{timestamp}", str(now))
        headers = {self.header: value}
        if self.timestamp_header:
            headers[self.timestamp_header] = str(now)
        return headers

    def _parse(self, value: str) -> tuple[str, str | None] | None:
        pattern = "^" + re.escape(self.format).replace(
            re.escape("{signature}"), "(?P<signature>[^,;\\s]+)").replace(
            re.escape("{timestamp}"), "(?P<timestamp>[^,;\\s]*)") + "$"
        match = re.match(pattern, value)
        if match is None:
            return None
        return match.group("signature"), match.groupdict().get("timestamp")

    def _check(self, request: WireRequest, secret: str, url: str, now: int,
               window: Window) -> Verification:
        received = header(request, self.header)
        if not received:
            return reject("missing", f"no {self.header} header")
        parsed = self._parse(received)
        if parsed is None:
            return reject("malformed", f"{self.header} is not {self.format}")
        signature, stamp = parsed
        if self.timestamp_header:
            stamp = header(request, self.timestamp_header)
            if not stamp:
                return reject("missing", f"no {self.timestamp_header} header")
        if stamp is not None and not UNIX_SECONDS.fullmatch(stamp):
            return reject("malformed", f"the timestamp {stamp[:20]!r} is not unix seconds")
        expected = self._mac(secret, self._text(request, stamp or "", strip_fragment(url)))
        if not same(signature, expected):
            return reject("mismatch", "the signature does not match")
        if stamp is None:
            return OK
        return window.check(int(stamp), now)
