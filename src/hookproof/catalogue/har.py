"""Captured traffic (HAR) as input of ``hookproof validate``.

A HAR file (browser devtools, mitmproxy, Charles, a proxy in front of the receiver) holds every
request that passed by. The webhook deliveries are picked out of it: POST (or GET) requests
whose body (GET: query string) parses in the provider's encoding and names one of its events;
everything else (``GET /favicon.ico``, the app's own API calls) is skipped. Each delivery keeps
its recorded URL, headers and raw body, so its signature can be verified with the secret.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from hookproof.catalogue import Provider
from hookproof.errors import InputError
from hookproof.signing import Verification, WireRequest, scheme_for
from hookproof.transport.encoding import decode_body


@dataclass(frozen=True)
class Captured:
    """One webhook delivery found in a HAR file."""

    index: int
    """Position of the entry in ``log.entries`` (1-based, as the file's ``line``)."""
    request: WireRequest
    payload: Any
    event: str


def _load(path: Path) -> list[Any]:
    name = str(path)
    from hookproof import safejson

    try:
        text = safejson.read_file(path, "").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: cannot read ({exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}: not a HAR file (not JSON: {exc.msg})") from None
    except (RecursionError, ValueError):
        raise InputError(f"{name}: not a usable HAR file (nested too deeply, or a number "
                         "too long)") from None
    log = document.get("log") if isinstance(document, Mapping) else None
    entries = log.get("entries") if isinstance(log, Mapping) else None
    if not isinstance(entries, list):
        raise InputError(f"{name}: not a HAR file (no log.entries)")
    return entries


def _body(request: Mapping[str, Any]) -> bytes:
    post = request.get("postData")
    if not isinstance(post, Mapping):
        return b""
    text = post.get("text")
    if isinstance(text, str):
        if post.get("encoding") == "base64":  # some tools record binary bodies so
            try:
                return base64.b64decode(text)
            except ValueError:
                return b""
        return text.encode("utf-8")
    params = post.get("params")
    if isinstance(params, list):
        return urlencode([(str(p.get("name", "")), str(p.get("value", "")))
                          for p in params if isinstance(p, Mapping)]).encode("ascii")
    return b""


def _headers(request: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in request.get("headers") or ():
        if isinstance(item, Mapping) and "name" in item:
            name = str(item["name"])
            if name.startswith(":"):  # HTTP/2 pseudo-headers
                continue
            headers[name] = str(item.get("value", ""))
    return headers


def deliveries(path: Path, provider: Provider) -> Iterator[Captured]:
    """The webhook deliveries of ``provider`` recorded in the HAR file ``path``."""
    encoding = provider.transport.encoding
    for index, entry in enumerate(_load(path), start=1):
        request = entry.get("request") if isinstance(entry, Mapping) else None
        if not isinstance(request, Mapping):
            continue
        method = str(request.get("method", "")).upper()
        url = str(request.get("url", ""))
        if method not in ("POST", "GET") or not url:
            continue
        raw = _body(request)
        wire = WireRequest(method, url, _headers(request), raw)
        source = raw
        if method == "GET":
            if encoding != "form":
                continue
            source = urlsplit(url).query.encode("latin-1")
        if not source:
            continue
        try:
            payload = decode_body(source, encoding)
        except (InputError, UnicodeError):
            continue
        event = provider.event_name_of(payload, wire.headers)
        if event is None:
            continue
        yield Captured(index, wire, payload, event)


def verify(provider: Provider, request: WireRequest, secret: str) -> Verification:
    """The recorded request's signature, checked over its recorded URL, headers and raw body.

    Timestamps are not held to the replay window: the traffic was captured earlier.
    """
    import time

    scheme = scheme_for(provider.signature, encoding=provider.transport.encoding)
    return scheme.verify(request, secret, now=int(time.time()), tolerance=None,
                         future_tolerance=None)


__all__ = ["Captured", "deliveries", "har_records", "verify"]


def har_records(path: Path, provider: Provider) -> Iterator[Any]:
    """The deliveries of a HAR file as :class:`~hookproof.catalogue.inputs.Record` s (line =
    entry)."""
    from hookproof.catalogue.inputs import Record

    for captured in deliveries(path, provider):
        yield Record(str(path), captured.index, captured.payload, request=captured.request)
