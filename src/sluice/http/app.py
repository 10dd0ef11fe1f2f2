"""The ASGI app: every dialect's routes on one Starlette app, errors in OpenWhisk's shape
unless a dialect answers in its own."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware

from sluice.dialects.fn import routes as fn
from sluice.dialects.native import routes as native
from sluice.dialects.openfaas import routes as openfaas
from sluice.dialects.openwhisk import errors as ow_errors
from sluice.dialects.openwhisk import routes as openwhisk
from sluice.errors import SluiceError
from sluice.http.cors import ApiCors
from sluice.http.routing import SegmentRouter
from sluice.http.throttle import KeyFailures

if TYPE_CHECKING:
    from sluice.wiring import Sluice


def build_app(
    sluice: Sluice,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    routes = [
        *openwhisk.routes(),
        *native.routes(),
        *fn.routes(),
        *openfaas.routes(),
    ]
    app = Starlette(
        exception_handlers={
            SluiceError: ow_errors.on_sluice_error,
            HTTPException: ow_errors.on_http_error,
            Exception: ow_errors.on_unexpected,
        },
        # web actions and OpenFaaS functions answer OPTIONS and set CORS themselves
        middleware=[
            Middleware(ApiCors, skip_prefix=("/api/v1/web/", *openfaas.FUNCTION_PREFIXES)),
            # Starlette gives an `Exception` handler to its outermost middleware, which answers
            # and then re-raises, so the server drops the connection and the keep-alive
            # requests queued on it: answered here instead, as each dialect's mounted routes
            # answer theirs (the outer handler stays for failures of the middleware itself)
            Middleware(ExceptionMiddleware, handlers={Exception: ow_errors.on_unexpected}),
        ],
    )
    # Starlette cannot be handed a router: its own one, made above, is replaced before the
    # first request builds the middleware stack around it
    app.router = SegmentRouter(routes, lifespan=lifespan)
    app.state.sluice = sluice
    app.state.key_failures = KeyFailures(sluice.settings.auth_failures_per_minute)
    return app
