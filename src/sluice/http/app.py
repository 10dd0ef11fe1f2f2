"""The ASGI app: every dialect's routes on one Starlette app, errors in OpenWhisk's shape
unless a dialect answers in its own."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from sluice.dialects.fn import routes as fn
from sluice.dialects.native import routes as native
from sluice.dialects.native import stats as native_stats
from sluice.dialects.openfaas import routes as openfaas
from sluice.dialects.openwhisk import errors as ow_errors
from sluice.dialects.openwhisk import routes as openwhisk
from sluice.errors import SluiceError
from sluice.http.body_cap import BodyCap
from sluice.http.contain import ContainUnexpected
from sluice.http.cors import ApiCors
from sluice.http.docs import Documents, docs_routes
from sluice.http.health import platform_routes
from sluice.http.request_metrics import RequestMetrics
from sluice.http.route_table import Templates
from sluice.http.routing import SegmentRouter
from sluice.http.throttle import KeyFailures
from sluice.ui import routes as ui

if TYPE_CHECKING:
    from sluice.wiring import Sluice


def route_groups() -> dict[str, list[BaseRoute]]:
    """Every dialect's routes (and the server's own), in the order they are matched."""
    return {
        "openwhisk": openwhisk.routes(),
        "sluice": [*native.routes(), *native_stats.routes()],
        "fn": fn.routes(),
        "openfaas": openfaas.routes(),
        "platform": [*platform_routes(), *docs_routes()],
        "ui": ui.routes(),
    }


def all_routes() -> list[BaseRoute]:
    return [route for group in route_groups().values() for route in group]


def build_app(
    sluice: Sluice,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    groups = route_groups()
    routes = [route for group in groups.values() for route in group]
    app = Starlette(
        exception_handlers={
            SluiceError: ow_errors.on_sluice_error,
            HTTPException: ow_errors.on_http_error,
        },
        middleware=[
            Middleware(
                RequestMetrics,
                templates=Templates(routes),
                openfaas_namespace=sluice.settings.openfaas_namespace,
            ),
            Middleware(BodyCap, limit=sluice.settings.body_max_bytes),
            # web actions and OpenFaaS functions answer OPTIONS and set CORS themselves; the
            # dashboard is for its own page alone
            Middleware(ApiCors, skip_prefix=("/api/v1/web/", "/ui", *openfaas.FUNCTION_PREFIXES)),
            Middleware(ContainUnexpected, handler=ow_errors.on_unexpected),
        ],
    )
    # Starlette cannot be handed a router: its own one, made above, is replaced before the
    # first request builds the middleware stack around it
    app.router = SegmentRouter(routes, lifespan=lifespan)
    app.state.sluice = sluice
    app.state.openapi = Documents(groups)
    app.state.key_failures = KeyFailures(sluice.settings.auth_failures_per_minute)
    return app
