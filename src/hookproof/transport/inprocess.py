"""In-process targets (``--target-app module:attr``): the receiver's WSGI or ASGI app answers
every delivery in this process, with no server and no port.

A WSGI app (Flask, Django, any PEP 3333 callable) is called on the calling thread with an
environ built here: PEP 3333 carries header values as Latin-1 text, and httpx's WSGI transport
decodes them as ASCII, which would refuse the non-ASCII signature headers the suite sends
before the app sees them. :class:`httpx.ASGITransport` calls an ASGI app
(FastAPI, Starlette, Django's ASGI handler) on an event loop of its own. httpx was chosen over
werkzeug's or Starlette's test clients because one well-kept library covers both interfaces,
builds the request from exact bytes and headers (what the signature covers), keeps no cookie
or session state between deliveries when its transports are called directly, and lets the
app's own exception through (the receiver's traceback, not a 500 made up by a test client).
An ASGI app's lifespan (startup and shutdown) is run by ``asgi-lifespan``'s
:class:`LifespanManager`, which also hands the app its lifespan state.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import io
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from hookproof.errors import UsageError
from hookproof.transport.client import Exchange
from hookproof.transport.scope import DeliveryScope, app_traceback, capturing_traces, entered
from hookproof.transport.wire import WireRequest

STARTUP_TIMEOUT = 30.0


def load_app(spec: str, app_dir: str | None = None,
             search: Mapping[str, str | Path] | None = None) -> Any:
    """The app named by ``module:attr`` (``module:factory()`` calls a factory with no
    arguments). ``app_dir`` is put first on ``sys.path``, then each of ``search`` (what it
    is -> a directory: pytest's rootdir and the working directory, as ``python -m`` would
    find a module there). A bad spec or an import that fails is a usage error saying which,
    with the app's own traceback for the latter, and for a module not found where it was
    looked for."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--target-app {spec!r}: give module:attr, e.g. myapp.web:app or "
                         "myapp.web:create_app()")
    searched: list[str] = []
    if app_dir:
        directory = Path(app_dir).resolve()
        if not directory.is_dir():
            raise UsageError(f"--target-app-dir {app_dir!r}: not a directory")
        searched.append(f"--target-app-dir {directory}")
    places = [*([directory] if app_dir else [])]
    for what, place in (search or {}).items():
        resolved = Path(place).resolve()
        if resolved.is_dir() and resolved not in places:
            places.append(resolved)
            searched.append(f"{what} {resolved}")
    for place in reversed(places):
        if str(place) not in sys.path:
            sys.path.insert(0, str(place))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            looked = "; ".join([*searched, "then sys.path"])
            raise UsageError(f"--target-app {spec!r}: no module named {exc.name!r} (looked in "
                             f"{looked}; give --target-app-dir DIR)") from None
        raise UsageError(f"--target-app {spec!r}: importing {module_name} failed:\n"
                         f"{app_traceback(exc)}") from None
    except Exception as exc:
        raise UsageError(f"--target-app {spec!r}: importing {module_name} failed:\n"
                         f"{app_traceback(exc)}") from None
    call = attr.endswith("()")
    name = attr[:-2] if call else attr
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"--target-app {spec!r}: {module_name} has no attribute "
                             f"{name!r}")
        obj = getattr(obj, part)
    if call:
        try:
            obj = obj()
        except Exception as exc:
            raise UsageError(f"--target-app {spec!r}: {name}() failed:\n"
                             f"{app_traceback(exc)}") from None
    interface_of(obj, f"--target-app {spec!r}")
    return obj


def interface_of(app: Any, where: str = "the app") -> str:
    """``asgi`` or ``wsgi``: an ASGI app is a coroutine function of (scope, receive, send), a
    WSGI app a callable of (environ, start_response)."""
    if not callable(app):
        raise UsageError(f"{where}: {type(app).__name__} is not a WSGI or ASGI app "
                         "(not callable)")
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(app):
        return "asgi"
    try:
        parameters = [p for p in inspect.signature(app).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return "wsgi"
    return "asgi" if len(parameters) == 3 else "wsgi"


def delivery_fields(request: WireRequest) -> dict[str, str]:
    """The delivery's top-level fields as text, for the platform stub's answers."""
    body = request.body
    if request.method == "GET":
        body = urlsplit(request.url).query.encode("utf-8")
    content_type = ""
    for name, value in request.headers.items():
        if name.lower() == "content-type":
            content_type = value.lower()
    if "json" in content_type:
        import json

        try:
            document = json.loads(body)
        except ValueError:
            return {}
        if not isinstance(document, dict):
            return {}
        found = {k: v for k, v in document.items() if isinstance(v, str)}
        data = document.get("data")
        if isinstance(data, Mapping):  # envelope providers: the resource is in "data"
            found.update({k: v for k, v in data.items() if isinstance(v, str)
                          and k not in found})
        return found
    fields: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(key, value)
    return fields


class AppTransport:
    """Sends :class:`WireRequest` s to an app in this process and makes each answer an
    :class:`Exchange`, with the handler's platform calls and tracebacks attached."""

    def __init__(self, app: Any, *, name: str = "the app") -> None:
        import httpx

        self.name = name
        self.interface = interface_of(app, name)
        self._stack = ExitStack()
        self._stack.enter_context(capturing_traces())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: Any = None
        self._thread: threading.Thread | None = None
        self.calls_outside: list[Any] = []
        if self.interface == "asgi":
            self._start_loop()
            served = self._run(self._startup(app), STARTUP_TIMEOUT)
            self._asgi = httpx.ASGITransport(app=served, client=("127.0.0.1", 50000))
        else:
            self._wsgi_app = app

    # -- the event loop of an ASGI app --------------------------------------------------------

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, daemon=True,
                                        name="hookproof-app-loop")
        self._thread.start()

    def _run(self, coroutine: Any, timeout: float) -> Any:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout)

    async def _startup(self, app: Any) -> Any:
        from asgi_lifespan import LifespanManager
        from asgi_lifespan._exceptions import LifespanNotSupported

        manager = LifespanManager(app, startup_timeout=STARTUP_TIMEOUT)
        try:
            await manager.__aenter__()
        except LifespanNotSupported:
            return app  # e.g. Django's ASGI handler: no startup to run
        except Exception as exc:
            raise UsageError(f"{self.name}: its startup (lifespan) failed:\n"
                             f"{app_traceback(exc)}") from None
        self._lifespan = manager
        return manager.app

    # -- deliveries ---------------------------------------------------------------------------

    def exchange(self, request: WireRequest, limit: float, max_answer: int) -> Exchange:
        scope = DeliveryScope(fields=delivery_fields(request))
        started = time.perf_counter()
        try:
            with entered(scope):
                if self.interface == "asgi":
                    status, headers, body = self._run(self._asgi_call(request, scope), limit)
                else:
                    status, headers, body = self._wsgi_call(request)
        except TimeoutError:
            return Exchange(request, elapsed=time.perf_counter() - started,
                            error=f"no complete answer within {limit:g} s",
                            error_kind="timeout", platform_calls=tuple(scope.calls),
                            in_process=True)
        except Exception as exc:
            trace = app_traceback(exc)
            return Exchange(request, elapsed=time.perf_counter() - started,
                            error=f"the app raised {type(exc).__name__}: "
                            f"{str(exc)[:200] or '(no message)'}",
                            error_kind="raised", trace="\n\n".join([*scope.traces, trace]),
                            platform_calls=tuple(scope.calls), in_process=True)
        elapsed = time.perf_counter() - started
        truncated = len(body) > max_answer
        return Exchange(request, status, headers, body[:max_answer], elapsed,
                        truncated=truncated, trace="\n\n".join(scope.traces) or None,
                        platform_calls=tuple(scope.calls), in_process=True)

    def _httpx_request(self, request: WireRequest) -> Any:
        import httpx

        # header values as Latin-1 bytes, as on the wire (httpx would encode text as ASCII
        # and refuse the non-ASCII signature headers the suite sends)
        headers = [(name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
                   for name, value in request.headers.items()]
        return httpx.Request(request.method, request.url, headers=headers,
                             content=request.body if request.method != "GET" else b"")

    def _wsgi_call(self, request: WireRequest) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url)
        body = request.body if request.method != "GET" else b""
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0), "wsgi.url_scheme": parts.scheme or "http",
            # what the app writes to its error stream (Flask's log of each exception) is the
            # delivery's, not the terminal's: the root-logger capture keeps the traceback for
            # the finding, and a fuzz run's shrinking prints no flood of them
            "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "REQUEST_METHOD": request.method, "SCRIPT_NAME": "",
            # PEP 3333: the path is the URL-decoded bytes as Latin-1 text
            "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
            "QUERY_STRING": parts.query, "SERVER_NAME": parts.hostname or "localhost",
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": parts.netloc or "localhost",
        }
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_LENGTH":
                continue
            if key == "HOST":
                environ.pop("HTTP_HOST")
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
            text = value.encode("latin-1", "replace").decode("latin-1")
            # a repeated header is one comma-joined value, as servers hand it on
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Any:
            if exc_info is not None and exc_info[0] is not None and "status" in answer:
                raise exc_info[1].with_traceback(exc_info[2])
            answer["status"], answer["headers"] = status, headers
            return lambda data: answer.setdefault("written", []).append(bytes(data))

        result = self._wsgi_app(environ, start_response)
        try:
            chunks = [bytes(chunk) for chunk in result]
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        if "status" not in answer:
            raise RuntimeError("the WSGI app returned without calling start_response")
        status = int(str(answer["status"]).split()[0])
        headers = {str(k): str(v) for k, v in answer["headers"]}
        return status, headers, b"".join([*answer.get("written", []), *chunks])

    async def _asgi_call(self, request: WireRequest,
                         scope: DeliveryScope) -> tuple[int, dict[str, str], bytes]:
        # the scope is entered again inside the loop: its tasks take their context from here
        with entered(scope):
            response = await self._asgi.handle_async_request(self._httpx_request(request))
            body = await response.aread()
        return response.status_code, dict(response.headers.items()), body

    def close(self) -> None:
        """Run the app's shutdown, stop its loop, remove the log capture (idempotent)."""
        if self._loop is not None:
            if self._lifespan is not None:
                manager, self._lifespan = self._lifespan, None
                try:
                    self._run(manager.__aexit__(None, None, None), STARTUP_TIMEOUT)
                except Exception as exc:  # a failing shutdown is the app's, and reported
                    print(f"hookproof: {self.name}: its shutdown failed: {exc}",
                          file=sys.stderr)
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(5)
            self._loop = None
        self._stack.close()
