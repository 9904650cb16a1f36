"""``hookproof replay``: recorded deliveries sent to a receiver again, and exported as examples.

It reads a ``hookproof listen --record`` file (or any HAR capture), re-signs each delivery for
the target's URL (or sends it byte for byte with ``--as-recorded``) and judges each answer with
the suite's own judges (:class:`~hookproof.checks.judge.Judge`, as ``hookproof send`` does).
A delivery is judged by what it was: one whose signature did not verify when it was recorded
(forged, unsigned, stale) is sent again with the same defect, and must be refused.
"""


from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from hookproof.catalogue import Provider, load_catalogue
from hookproof.checks.failures import CheckFailure
from hookproof.errors import InputError, UsageError
from hookproof.scrub import scrub, scrub_data
from hookproof.signing import WireRequest
from hookproof.transport.encoding import decode_body


@dataclass(frozen=True)
class Recorded:
    index: int
    request: WireRequest
    payload: Any
    event: str
    signature: str | None = None
    """``ok``, or why the signature did not verify when it was recorded (``missing``,
    ``mismatch``, ``stale``...); None where the record does not say (a HAR capture): the
    signature is then verified here, over the recorded URL."""


def _recorded_signature(value: object) -> str | None:
    """``listen --record`` writes ``ok`` or ``BAD (<reason>)``."""
    if not isinstance(value, str) or not value:
        return None
    if value == "ok":
        return "ok"
    return value.removeprefix("BAD (").removesuffix(")") or "mismatch"


def recorded(path: Path, provider: Provider) -> Iterator[Recorded]:
    """The deliveries of a ``listen --record`` file (JSONL) or any HAR capture."""
    from hookproof import safejson

    if path.suffix.lower() == ".har":
        from hookproof.catalogue.har import deliveries

        for captured in deliveries(path, provider):
            yield Recorded(captured.index, captured.request, captured.payload, captured.event)
        return
    text = safejson.read_file(path, "").decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = safejson.loads(line, what="the record")
            body = (item["body"].encode("utf-8") if "body" in item
                    else base64.b64decode(item["body_base64"]))
            wire = WireRequest(str(item["method"]), str(item["url"]),
                               {str(k): str(v) for k, v in item["headers"].items()}, body)
        except (InputError, KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"{path}:{number}: not a hookproof listen record") from None
        source = body if wire.method != "GET" else urlsplit(wire.url).query.encode("latin-1")
        try:
            payload = decode_body(source, provider.transport.encoding)
        except InputError:
            continue
        name = provider.event_name_of(payload, wire.headers) or str(item.get("event", ""))
        if provider.has_event(name):
            yield Recorded(number, wire, payload, name,
                           _recorded_signature(item.get("signature")))


def replay(path: Path, *, provider_id: str, target_url: str, secret: str,
           as_recorded: bool = False, events: Sequence[str] = (), limit: int | None = None,
           concurrency: int = 1, signing_url: str | None = None, out: TextIO) -> int:
    import time

    from hookproof.catalogue.har import verify
    from hookproof.catalogue.validation import engine_for
    from hookproof.checks.base import WRONG_SECRET
    from hookproof.checks.judge import Judge
    from hookproof.checks.verdict import blocking
    from hookproof.reach.builder import DeliveryBuilder
    from hookproof.reach.settings import Settings
    from hookproof.reach.target import make_target

    provider = load_catalogue().provider(provider_id)
    for name in events:
        provider.event(name)
    items = [r for r in recorded(path, provider) if not events or r.event in events]
    if limit is not None:
        items = items[:limit]
    if not items:
        raise InputError(f"{path}: no {provider.id} delivery to replay")
    settings = Settings(target_url=target_url, provider=provider.id, signing_url=signing_url)
    target = make_target(provider, settings, secret=secret, engine=engine_for())
    builder: DeliveryBuilder = target.builder
    results: list[tuple[Recorded, str, bool]] = []

    def defect_of(item: Recorded) -> str | None:
        """None for a genuine delivery; else what was wrong with its signature."""
        if item.signature is not None:
            return None if item.signature == "ok" else item.signature
        verdict = verify(provider, item.request, secret)
        return None if verdict.ok else str(verdict.reason)

    def one(item: Recorded) -> tuple[Recorded, str, bool]:
        event = provider.event(item.event)
        defect = defect_of(item)
        if as_recorded:
            parts = urlsplit(item.request.url)
            base = urlsplit(builder.url_for(event))
            url = urlunsplit((base.scheme, base.netloc, base.path, parts.query, ""))
            request = item.request.with_url(url)
        else:
            # signed anew for the target, with the defect it was recorded with: a forgery
            # stays a forgery, an unsigned delivery unsigned, a stale one stale
            body = item.request.body if item.request.method != "GET" else None
            window = provider.replay_window
            request = builder.build(
                event, item.payload, body=body,
                secret=WRONG_SECRET if defect not in (None, "missing", "stale") else None,
                now=(int(time.time()) - (window.seconds if window else 300) - 60
                     if defect == "stale" else None)).request
            if defect == "missing":
                request = request.without_headers(builder.scheme.header)
        exchange = target.client.send(request)
        judge = Judge(provider, event, target)
        try:
            verdict = judge.accepted(exchange) if defect is None else judge.refused(exchange,
                                                                                     defect)
            return item, f"ok: {verdict}", True
        except CheckFailure as failure:
            if not blocking(failure.severity, strict=False):
                return item, f"ok, with a recommendation: {failure.title} ({failure.got})", True
            return item, f"fail: {failure.title} ({failure.got})", False

    with ThreadPoolExecutor(max(1, min(concurrency, 32))) as pool:
        results = list(pool.map(one, items))
    for item, verdict, _ in results:
        print(scrub(f"#{item.index:<4} {item.event:<28} {verdict}"), file=out)
    failing = sum(1 for *_, ok in results if not ok)
    print(f"hookproof replay: {len(results)} deliveries, {failing} failing", file=out)
    target.client.close()
    return 1 if failing else 0


def export_examples(path: Path, provider_id: str, directory: Path, *, out: TextIO) -> int:
    """Each recorded payload as a valid example of the contracts, with its drift reported."""
    from hookproof.catalogue.validation import validate

    provider = load_catalogue().provider(provider_id)
    written = 0
    for item in recorded(path, provider):
        result = validate(item.payload, provider=provider.id, event=item.event)
        folder = directory / provider.id / item.event / "valid"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"recorded-{item.index}.json"
        target.write_text(json.dumps(scrub_data(item.payload), indent=2, ensure_ascii=False)
                          + "\n", encoding="utf-8")
        written += 1
        state = "valid" if not result.errors else f"{len(result.errors)} error(s)"
        drift = ", ".join(f.path for f in result.drift) or "none"
        print(f"{target}: {state}; drift: {drift}", file=out)
    if not written:
        raise UsageError(f"{path}: no {provider.id} delivery to export")
    return 0
