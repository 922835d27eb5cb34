"""The starlette application: the page, its static files, the JSON API and /openapi.json.

Everything the page needs ships inside the package (``web/static``): it works with no network.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chainrule import __version__
from chainrule.web.api import openapi_document, routes
from chainrule.web.network import NetworkState
from chainrule.web.sessions import DEFAULT_MAX_SESSIONS, SessionStore

STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    max_sessions: int = DEFAULT_MAX_SESSIONS, start: NetworkState | None = None
) -> Starlette:
    """The explorer's app; each app has its own session store of at most ``max_sessions``.

    ``start`` is the network the page opens on (``/api/seed``): a trained model and one of its
    cases (``chainrule serve --model``); by default the lecture's seed network."""
    store = SessionStore(max_sessions)
    document = openapi_document(__version__)

    async def index(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    async def start_network(_: Request) -> Response:
        return JSONResponse(start.to_json())

    opening = [] if start is None else [Route("/api/seed", start_network, methods=["GET"])]

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *opening,  # matched before the API's own /api/seed
            *routes(store),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ]
    )
    app.state.sessions = store
    return app
