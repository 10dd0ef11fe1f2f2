"""The API's ASGI app, assembled from route groups and the error handlers of the shape
errors take unless a dialect answers in its own: which groups and which shape is the
composition root's choice (sluice/asgi.py), so that this edge names no dialect."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from sluice.errors import SluiceError
from sluice.http.contain import Handler
from sluice.http.context import Server
from sluice.http.docs import Documents
from sluice.http.frame import RequestFrame
from sluice.http.request_metrics import RequestCounter
from sluice.http.route_table import Templates
from sluice.http.routing import SegmentRouter
from sluice.http.throttle import KeyFailures


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """The handlers that answer an error the route did not answer itself."""

    on_sluice_error: Handler
    on_http_error: Handler
    on_unexpected: Handler


def api_app(
    server: Server,
    groups: dict[str, list[BaseRoute]],
    errors: ErrorShape,
    own_cors: tuple[str, ...],
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The app serving `groups` (matched in their order); routes under the `own_cors`
    prefixes answer OPTIONS and set CORS themselves."""
    routes = [route for group in groups.values() for route in group]
    app = Starlette(
        exception_handlers={
            SluiceError: errors.on_sluice_error,
            HTTPException: errors.on_http_error,
        },
        middleware=[
            Middleware(
                RequestFrame,
                body_limit=server.settings.body_max_bytes,
                own_cors=own_cors,
                on_unexpected=errors.on_unexpected,
                counter=RequestCounter(Templates(routes), server.settings.openfaas_namespace),
            ),
        ],
    )
    # Starlette cannot be handed a router: its own one, made above, is replaced before the
    # first request builds the middleware stack around it
    app.router = SegmentRouter(routes, lifespan=lifespan)
    app.state.sluice = server
    app.state.openapi = Documents(groups)
    app.state.key_failures = KeyFailures(server.settings.auth_failures_per_minute)
    return app
