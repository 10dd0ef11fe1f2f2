"""Fn's URL table: /v1 (apps, routes, calls, logs) and /r (invoke), each mounted with Fn's
error handlers so that its errors, unknown paths included, come in Fn's shape."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sluice.dialects.fn import apps, calls, invoke, route_api
from sluice.dialects.fn.errors import HANDLERS, FnJSON
from sluice.http.routing import dialect_routes

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


def routes() -> list[BaseRoute]:
    invoke_routes: list[BaseRoute] = [
        Route("/{app}/{path:path}", invoke.invoke, methods=_ALL_METHODS)
    ]
    return [
        Route("/version", version, methods=["GET"]),
        Mount("/v1", app=dialect_routes(_v1(), HANDLERS)),
        Mount("/r", app=dialect_routes(invoke_routes, HANDLERS)),
    ]
