"""Fn's URL table: /v1 (apps, routes, calls, logs) and /r (invoke) with v1's error shape;
/v2 (apps, fns, triggers), /invoke and /t with v2's. Each is mounted with its error handlers
so that its errors, unknown paths included, come in its shape."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sluice.dialects.fn import (
    apps,
    calls,
    invoke,
    invoke_v2,
    route_api,
    v2_apps,
    v2_calls,
    v2_fns,
    v2_triggers,
)
from sluice.dialects.fn.errors import HANDLERS, V2_HANDLERS, FnJSON
from sluice.http.routing import dialect_routes

#: the last Fn server that served what Sluice serves: v1's apps, routes and calls beside v2's
#: apps, fns and triggers, /invoke and /t (v1 went in the next release)
FN_VERSION = "0.3.562"
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


def _v2() -> list[BaseRoute]:
    return [
        Route("/apps", v2_apps.list_apps, methods=["GET"]),
        Route("/apps", v2_apps.create_app, methods=["POST"]),
        Route("/apps/{app_id}", v2_apps.get_app, methods=["GET"]),
        Route("/apps/{app_id}", v2_apps.update_app, methods=["PUT"]),
        Route("/apps/{app_id}", v2_apps.delete_app, methods=["DELETE"]),
        Route("/fns", v2_fns.list_fns, methods=["GET"]),
        Route("/fns", v2_fns.create_fn, methods=["POST"]),
        Route("/fns/{fn_id}", v2_fns.get_fn, methods=["GET"]),
        Route("/fns/{fn_id}", v2_fns.update_fn, methods=["PUT"]),
        Route("/fns/{fn_id}", v2_fns.delete_fn, methods=["DELETE"]),
        Route("/fns/{fn_id}/calls", v2_calls.list_calls, methods=["GET"]),
        Route("/fns/{fn_id}/calls/{call_id}", v2_calls.get_call, methods=["GET"]),
        Route("/fns/{fn_id}/calls/{call_id}/log", v2_calls.get_log, methods=["GET"]),
        Route("/triggers", v2_triggers.list_triggers, methods=["GET"]),
        Route("/triggers", v2_triggers.create_trigger, methods=["POST"]),
        Route("/triggers/{trigger_id}", v2_triggers.get_trigger, methods=["GET"]),
        Route("/triggers/{trigger_id}", v2_triggers.update_trigger, methods=["PUT"]),
        Route("/triggers/{trigger_id}", v2_triggers.delete_trigger, methods=["DELETE"]),
    ]


def routes() -> list[BaseRoute]:
    invoke_routes: list[BaseRoute] = [
        Route("/{app}/{path:path}", invoke.invoke, methods=_ALL_METHODS)
    ]
    return [
        Route("/version", version, methods=["GET"]),
        Mount("/v1", app=dialect_routes(_v1(), HANDLERS)),
        Mount("/r", app=dialect_routes(invoke_routes, HANDLERS)),
        Mount("/v2", app=dialect_routes(_v2(), V2_HANDLERS)),
        Mount(
            "/invoke",
            app=dialect_routes(
                [Route("/{fn_id}", invoke_v2.invoke, methods=["POST"])], V2_HANDLERS
            ),
        ),
        Mount(
            "/t",
            app=dialect_routes(
                [Route("/{app}/{source:path}", invoke_v2.trigger, methods=_ALL_METHODS)],
                V2_HANDLERS,
            ),
        ),
    ]
