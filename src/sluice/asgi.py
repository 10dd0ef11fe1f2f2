"""The API's app as this server serves it: every dialect's routes (and the server's own)
on one app, errors in OpenWhisk's shape unless a dialect answers in its own."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from sluice.dialects.fn import routes as fn
from sluice.dialects.fn.context import FnServices
from sluice.dialects.native import routes as native
from sluice.dialects.native import stats as native_stats
from sluice.dialects.openfaas import routes as openfaas
from sluice.dialects.openwhisk import errors as ow_errors
from sluice.dialects.openwhisk import routes as openwhisk
from sluice.http.app import ErrorShape, api_app
from sluice.http.context import Server
from sluice.http.docs import docs_routes
from sluice.http.health import platform_routes
from sluice.ui import routes as ui
from sluice.wiring import Sluice


class Served(Server, FnServices, Protocol):
    """What the app's handlers read off `app.state.sluice`: the server and the facade every
    dialect shares (http/context.py), and Fn's apps and routes (dialects/fn/context.py)."""


#: where errors no dialect answered in its own shape are answered
_ERRORS = ErrorShape(ow_errors.on_sluice_error, ow_errors.on_http_error, ow_errors.on_unexpected)


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
    # web actions and OpenFaaS functions answer OPTIONS and set CORS themselves; the
    # dashboard is for its own page alone
    own_cors = ("/api/v1/web/", "/ui", *openfaas.FUNCTION_PREFIXES)
    served: Served = sluice  # mypy checks that Sluice is all the handlers read
    return api_app(served, route_groups(), _ERRORS, own_cors, lifespan)
