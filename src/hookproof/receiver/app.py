"""The reference receiver as a Starlette (ASGI) application.

Routes, one prefix per provider::

    POST /twilio-conversations            (GET too: parameters in the query string)
    POST /twilio-orchestrator
    POST /twilio-frontline                (onConversationAdd, onParticipantAdded)
    POST /twilio-frontline/crm | /outgoing | /templates | /routing   (paths from the manifest)
    POST /varda
    POST /operator
    GET  /<provider>/effects?key=<dedupe key>  ->  {"count": n}
    GET  /healthz                              ->  {"status": "ok"}

The web layer only reads the raw body, rebuilds the URL the platform signed and hands both to
:class:`~hookproof.receiver.pipeline.Pipeline`, which runs in a worker thread (it does
blocking SQLite work), so the event loop keeps serving other deliveries meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookproof.catalogue import Provider, load_catalogue
from hookproof.receiver.answers import JSON_TYPE, Answer
from hookproof.receiver.checks import ContractValidator
from hookproof.receiver.config import ReceiverConfig
from hookproof.receiver.pipeline import Hook, Pipeline, error, hooks_of
from hookproof.receiver.store import SqliteStore, Store
from hookproof.transport.wire import WireRequest


class BodyTooLarge(Exception):
    pass


def signed_url(request: Request, public_url: str | None = None) -> str:
    """The URL the platform signed, rebuilt from the request.

    Without ``public_url``: ``scheme://<Host header>/<raw path>?<raw query>`` exactly as
    received (no decoding, no normalisation, the port as the client wrote it). With it (the
    receiver behind a proxy or tunnel): ``public_url`` + the raw path + the raw query.
    A proxy on the same host (a loopback peer, the only one this receiver serves) is trusted:
    its ``X-Forwarded-Proto``/``-Host``/``-Port`` give the public scheme and host.
    """
    scope = request.scope
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = raw_path.decode("latin-1")
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    forwarded = _forwarded_base(request)
    if public_url is not None:
        base = public_url.rstrip("/")
    elif forwarded is not None:
        base = forwarded
    else:
        host = request.headers.get("host")
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        base = f"{scope['scheme']}://{host}"
    return f"{base}{path}?{query}" if query else f"{base}{path}"


def _forwarded_base(request: Request) -> str | None:
    proto = request.headers.get("x-forwarded-proto")
    host = request.headers.get("x-forwarded-host")
    client = request.client.host if request.client else ""
    if not proto or not host or client not in ("127.0.0.1", "::1"):
        return None
    proto = proto.split(",")[0].strip().lower()
    host = host.split(",")[0].strip()
    port = (request.headers.get("x-forwarded-port") or "").split(",")[0].strip()
    default = {"https": "443", "http": "80"}.get(proto)
    if port and port != default and ":" not in host.rpartition("]")[2]:
        host = f"{host}:{port}"
    return f"{proto}://{host}"


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, exactly as sent; :class:`BodyTooLarge` beyond ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def respond(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=JSON_TYPE)


Endpoint = Callable[[Request], Awaitable[Response]]


def _delivery_endpoint(hook: Hook, pipeline: Pipeline, config: ReceiverConfig) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            body = await read_body(request, config.max_body_bytes)
        except BodyTooLarge:
            return respond(error(413, f"body larger than {config.max_body_bytes} bytes"))
        wire = WireRequest(
            method=request.method,
            url=signed_url(request, config.public_url),
            headers=request.headers,
            body=body,
        )
        return respond(await run_in_threadpool(pipeline.deliver, hook, wire))

    return endpoint


def _effects_endpoint(provider: Provider, store: Store) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        key = request.query_params.get("key")
        if not key:
            return JSONResponse({"error": "give ?key=<dedupe key>"}, status_code=400)
        count = await run_in_threadpool(store.effects, provider.id, key)
        return JSONResponse({"count": count})

    return endpoint


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def build_pipeline(config: ReceiverConfig) -> Pipeline:
    """The pipeline of ``config``: its parts, with the defaults filled in."""
    validator = config.validator
    if isinstance(validator, ContractValidator) and validator.catalogue is None:
        validator = ContractValidator(config.catalogue)
    return Pipeline(
        config,
        verifier=config.verifier,
        validator=validator,
        answerer=config.answerer,
        store=config.store if config.store is not None else SqliteStore(config.db),
        clock=config.clock,
    )


def create_app(config: ReceiverConfig | None = None) -> Starlette:
    """The reference receiver for every provider of the catalogue (or ``config.providers``)."""
    config = config or ReceiverConfig()
    catalogue = config.catalogue or load_catalogue()
    pipeline = build_pipeline(config)
    wanted = config.providers if config.providers is not None else sorted(catalogue.providers)
    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    for provider_id in wanted:
        provider = catalogue.provider(provider_id)
        prefix = f"/{provider.id}"
        routes.append(
            Route(f"{prefix}/effects", _effects_endpoint(provider, pipeline.store),
                  methods=["GET"])
        )
        for path, hook in hooks_of(provider).items():
            routes.append(
                Route(prefix + path, _delivery_endpoint(hook, pipeline, config),
                      methods=list(provider.transport.methods))
            )
    if isinstance(pipeline.validator, ContractValidator):
        pipeline.validator.warm(e for p in wanted for e in catalogue.provider(p).events)
    app = Starlette(routes=routes)
    app.state.config = config
    app.state.pipeline = pipeline
    return app
