"""Fn's URL table: /v1 (apps, routes, calls, logs) and /r (invoke), each mounted as a small
app of its own so that its errors, unknown paths included, come in Fn's shape."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sluice.dialects.fn import apps, calls, invoke, route_api
from sluice.dialects.fn.errors import HANDLERS, FnJSON

if TYPE_CHECKING:
    from sluice.wiring import Sluice

#: the Fn server version whose v1 API this follows
FN_VERSION = "0.3.750"
_APP = "/apps/{app}"
_ROUTE = _APP + "/routes/{path:path}"
_CALL = _APP + "/calls/{call}"
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


async def version(request: Request) -> Response:
    return FnJSON({"version": FN_VERSION})


def _v1() -> list[BaseRoute]:
    return [
        Route("/apps", apps.list_apps, methods=["GET"]),
        Route("/apps", apps.create_app, methods=["POST"]),
        Route(_APP, apps.get_app, methods=["GET"]),
        Route(_APP, apps.update_app, methods=["PATCH"]),
        Route(_APP, apps.delete_app, methods=["DELETE"]),
        Route(_APP + "/routes", route_api.list_routes, methods=["GET"]),
        Route(_APP + "/routes", route_api.create_route, methods=["POST"]),
        Route(_ROUTE, route_api.get_route, methods=["GET"]),
        Route(_ROUTE, route_api.put_route, methods=["PUT"]),
        Route(_ROUTE, route_api.patch_route, methods=["PATCH"]),
        Route(_ROUTE, route_api.delete_route, methods=["DELETE"]),
        Route(_APP + "/calls", calls.list_calls, methods=["GET"]),
        Route(_CALL, calls.get_call, methods=["GET"]),
        Route(_CALL, calls.cancel_call, methods=["DELETE"]),
        Route(_CALL + "/log", calls.get_log, methods=["GET"]),
    ]


def _sub_app(sluice: Sluice, routes: list[BaseRoute]) -> Starlette:
    app = Starlette(routes=routes, exception_handlers=dict(HANDLERS))
    app.state.sluice = sluice
    return app


def routes(sluice: Sluice) -> list[BaseRoute]:
    invoke_routes: list[BaseRoute] = [
        Route("/{app}/{path:path}", invoke.invoke, methods=_ALL_METHODS)
    ]
    return [
        Route("/version", version, methods=["GET"]),
        Mount("/v1", app=_sub_app(sluice, _v1())),
        Mount("/r", app=_sub_app(sluice, invoke_routes)),
    ]
