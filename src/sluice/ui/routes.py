"""/ui: the dashboard's page and files, and its API under /ui/api (errors as {"error"})."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from sluice.errors import NotFound, SluiceError
from sluice.http.responses import JSON
from sluice.http.routing import by_method, dialect_routes
from sluice.http.status import retry_headers, status_of
from sluice.ui import api, signin, stream

STATIC = Path(__file__).parent / "static"
#: the files the page loads, by name (nothing else of the directory is served)
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_FILES = {path.name: path for path in STATIC.iterdir() if path.suffix in _MEDIA}
#: the page's own files only: no script or style from elsewhere, no framing
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def on_sluice_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SluiceError)
    return JSON({"error": exc.message}, status_code=status_of(exc), headers=retry_headers(exc))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSON({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


HANDLERS = {SluiceError: on_sluice_error, HTTPException: on_http_error}


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)


async def asset(request: Request) -> Response:
    path = _FILES.get(request.path_params["file"])
    if path is None:
        raise NotFound()
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers=_PAGE_HEADERS)


def _mounted() -> list[BaseRoute]:
    return [
        Route("/", page, methods=["GET"]),
        Route("/static/{file}", asset, methods=["GET"]),
        by_method(
            "/api/session",
            {"GET": signin.whoami, "POST": signin.sign_in, "DELETE": signin.sign_out},
        ),
        Route("/api/functions", api.list_functions, methods=["GET"]),
        Route("/api/calls", api.list_calls, methods=["GET"]),
        Route("/api/calls/{id}", api.get_call, methods=["GET"]),
        Route("/api/calls/{id}/cancel", api.cancel_call, methods=["POST"]),
        Route("/api/dead-letters", api.list_dead_letters, methods=["GET"]),
        Route("/api/dead-letters/{id}/redrive", api.redrive, methods=["POST"]),
        Route("/api/triggers", api.list_triggers, methods=["GET"]),
        Route("/api/stats", api.stats, methods=["GET"]),
        Route("/api/events", stream.events, methods=["GET"]),
    ]


def routes() -> list[BaseRoute]:
    return [
        Route("/ui", page, methods=["GET"]),
        Mount("/ui", app=dialect_routes(_mounted(), HANDLERS)),
    ]
