"""The starlette application: the page, its static files, the JSON API and /openapi.json.

Everything the page needs ships inside the package (``web/static``): it works with no network.

Every request's Host header must name the address the server was started for (by default the
local names: 127.0.0.1, localhost, ::1), so that a web page on another site cannot reach the
explorer through DNS rebinding; ``allowed_hosts`` (``chainrule serve --allow-host``) adds names.
A wildcard address among them (``0.0.0.0``, ``::``: a server listening on every interface) lets
in any IP address as well (``192.0.2.7:8000``, ``[2001:db8::7]:8000``): rebinding needs a domain
name, so an address typed as numbers is safe, and the machine's addresses are many. Errors,
including 404 and 405, are the API's JSON error body ``{"error": ...}``.

What the person running the server must see is logged to ``chainrule.web`` (``chainrule serve``
writes it to stderr with the time), one line each: a refused Host header, a 503 (the server is
full) and a 500 (whose traceback the server logs after it).

The page and its static files are served with ``Cache-Control: no-cache``: a browser asks again
before each use (an unchanged file is a 304, by its ETag), so after an upgrade it never runs an
old app.js beside the new index.html.

Every URL the page uses is relative to it (``./static/app.js``, ``./api/seed``), so it works at a
server's root and behind a reverse proxy under a prefix (``https://uni.example/chainrule/`` ->
``http://127.0.0.1:8000/``) alike, with nothing to configure. The page's file by its own name,
``/static/index.html``, is a redirect to the page (``../``, relative too): from there its
relative URLs would name ``/static/static/app.js``.

A server started on a model (``start``, ``chainrule serve --model``) says so in the page itself,
``<body data-opened-on="model">``: /api/seed then answers that model, and the page labels the
button that asks for it again "Reload model", not "Seed network".
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from chainrule import __version__
from chainrule.web.api import HTTPProblem, openapi_document, problem_response, routes
from chainrule.web.network import NetworkState
from chainrule.web.sessions import (
    DEFAULT_IDLE_SECONDS,
    DEFAULT_MAX_SESSIONS,
    SessionsFull,
    SessionStore,
)

STATIC_DIR = Path(__file__).parent / "static"
#: The names a local server answers to.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Addresses that listen on every interface: as an allowed host, they allow any IP address.
WILDCARD_HOSTS = ("0.0.0.0", "::")
#: The page's own files are asked for again before each use (revalidated, not re-sent).
REVALIDATE = {"Cache-Control": "no-cache"}
#: Where the server says what the person running it should see (chainrule serve: stderr).
log = logging.getLogger("chainrule.web")


def _client(scope: Scope) -> str:
    """The client's address as the log names it: ``192.0.2.7:51234``, ``[::1]:51234``."""
    client = scope.get("client")
    if not client:
        return "an unknown client"
    host, port = client[0], client[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_name(header: str) -> str | None:
    """The host part of a Host header, lower-cased: ``[::1]:8000`` -> ``::1``; None when what
    follows the name is not a port (``127.0.0.1:80@evil.example``, ``[::1]x``)."""
    header = header.strip().lower()
    if header.startswith("["):
        name, closed, port = header[1:].partition("]")
        if not closed:
            return None
    elif header.count(":") == 1:
        name, colon, digits = header.partition(":")
        port = colon + digits
    else:  # no port, or a bare IPv6 address
        name, port = header, ""
    if port and not (port[0] == ":" and port[1:].isascii() and port[1:].isdigit()):
        return None
    return name


class HostCheck:
    """ASGI middleware: answer 400 (the JSON error) to any request whose Host is not allowed."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = {name.strip().lower().strip("[]") for name in allowed}
        #: listening on every interface: any IP address is this server's (WILDCARD_HOSTS)
        self.any_address = any(name in self.allowed for name in WILDCARD_HOSTS)

    def allows(self, host: str) -> bool:
        """Whether the Host header ``host`` names this server."""
        name = host_name(host)
        if "*" in self.allowed or name in self.allowed:
            return True
        return self.any_address and name is not None and _is_ip_address(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not self.allows(host):
                shown = repr(host) if host else "no Host header"
                addresses = ", ".join(sorted(self.allowed))
                if self.any_address:
                    addresses += ", any IP address"
                problem = HTTPProblem(
                    400,
                    f"Host {shown} is not this server's address (allowed: {addresses}); start "
                    "it with --allow-host to add one",
                )
                log.warning(
                    "refused %s %s from %s: Host %s is not this server's address "
                    "(chainrule serve --allow-host NAME adds a name)",
                    scope.get("method"),
                    scope.get("path"),
                    _client(scope),
                    shown,
                )
                await problem_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RevalidatedFiles(StaticFiles):
    """The static files (app.js, style.css), each answered with :data:`REVALIDATE`: index.html
    and the script that fills its lists must come from the same version of chainrule."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)  # a 304 where the ETag still matches
        response.headers.update(REVALIDATE)
        return response


def _page_on_model() -> str:
    """index.html as a server started on a model sends it: its body says that /api/seed answers
    the model (app.js reads ``data-opened-on``), before the page's script asks for anything."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    if page.count("<body>") != 1:  # pragma: no cover - the page ships with the package
        raise RuntimeError("chainrule explorer: web/static/index.html has no single <body>")
    return page.replace("<body>", '<body data-opened-on="model">')


async def _http_error(_: Request, error: Exception) -> Response:
    """404, 405 and other routing errors as the API's documented JSON error."""
    assert isinstance(error, HTTPException)
    messages = {404: "no such page or endpoint", 405: "method not allowed for this endpoint"}
    message = messages.get(error.status_code, str(error.detail))
    return problem_response(HTTPProblem(error.status_code, message, headers=error.headers))


def _request_line(request: Request) -> str:
    """``POST /api/train/step from 192.0.2.7:51234``: a logged request, by what it asked for
    and who asked (never its body or its cookies)."""
    return f"{request.method} {request.url.path} from {_client(request.scope)}"


async def _sessions_full(request: Request, error: Exception) -> Response:
    """A new browser's run refused while every session is in use: 503, saying when to try again
    (the store's message), rather than forgetting a run someone is working on."""
    assert isinstance(error, SessionsFull)
    log.warning(
        "503 %s: the server is full (every session was used recently; chainrule serve "
        "--max-sessions N keeps more)",
        _request_line(request),
    )
    headers = {"Retry-After": str(error.retry_after)}
    return problem_response(HTTPProblem(503, str(error), headers=headers))


async def _internal_error(request: Request, error: Exception) -> Response:
    """A failure no check foresaw: still the API's JSON error body (the page shows its message),
    naming the endpoint and the exception; the server logs the traceback as well."""
    message = (
        f"internal error in {request.url.path}: {type(error).__name__}: {error} "
        "(a bug in chainrule; please report it with the request)"
    )
    log.error("500 %s: %s: %s", _request_line(request), type(error).__name__, error)
    return problem_response(HTTPProblem(500, message))


def create_app(
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    start: NetworkState | None = None,
    allowed_hosts: Iterable[str] = LOCAL_HOSTS,
    idle_seconds: float = DEFAULT_IDLE_SECONDS,
    lifespan: Any = None,
) -> Starlette:
    """The explorer's app; each app has its own session store of at most ``max_sessions``,
    which gives a new browser the place of a session idle for ``idle_seconds`` and, while none
    is, answers its start 503 (:class:`~chainrule.web.sessions.SessionStore`).

    ``start`` is the network the page opens on (``/api/seed``): a trained model and one of its
    cases (``chainrule serve --model``), which the page's Edit tab button then reloads as
    "Reload model"; by default the lecture's seed network ("Seed network"). Requests must
    carry a Host header naming one of ``allowed_hosts`` (``"*"`` allows any; ``0.0.0.0`` or
    ``::`` any IP address besides). ``lifespan``: starlette's, run as a server starts and stops
    serving the app (``chainrule serve`` takes Ctrl+C over there)."""
    store = SessionStore(max_sessions, idle_seconds)
    document = openapi_document(__version__)

    marked = None if start is None else _page_on_model()  # read once, not per request

    async def index(_: Request) -> Response:
        if marked is None:  # the file as it ships (a 304 while its ETag matches)
            return FileResponse(STATIC_DIR / "index.html", headers=REVALIDATE)
        return HTMLResponse(marked, headers=REVALIDATE)

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    async def start_network(_: Request) -> Response:
        return JSONResponse(start.to_json())

    async def to_the_page(_: Request) -> Response:
        # relative, as the page's own URLs are: under a proxy's prefix, the prefix's page
        return RedirectResponse("../", status_code=302, headers=REVALIDATE)

    opening = [] if start is None else [Route("/api/seed", start_network, methods=["GET"])]

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            # the page's file by its own name: the page (marked as / marks it), where its
            # relative URLs name its files
            Route("/static/index.html", to_the_page, methods=["GET"]),
            *opening,  # matched before the API's own /api/seed and the static files
            *routes(store),
            Mount("/static", RevalidatedFiles(directory=STATIC_DIR), name="static"),
        ],
        exception_handlers={
            HTTPException: _http_error,
            SessionsFull: _sessions_full,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.add_middleware(HostCheck, allowed=list(allowed_hosts))
    app.state.sessions = store
    return app
