"""/v1/apps/{app}/routes: a route is one function at a path of an app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.fn import wire
from sluice.dialects.fn.context import fn_apps, fn_namespace, wrapped
from sluice.dialects.fn.errors import FnJSON
from sluice.errors import BadRequest


def _path(request: Request) -> str:
    return "/" + str(request.path_params["path"])


async def list_routes(request: Request) -> Response:
    await fn_namespace(request)
    found = await fn_apps(request).list_routes(request.path_params["app"])
    found.sort(key=lambda r: r.fields.path)
    return FnJSON(
        {
            "message": "Successfully listed routes",
            "next_cursor": "",
            "routes": [wire.route(r) for r in found],
        }
    )


async def create_route(request: Request) -> Response:
    await fn_namespace(request)
    body = await wrapped(request, "route")
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise BadRequest("Invalid route: it needs a path.")
    apps = fn_apps(request)
    route = await apps.put_route(request.path_params["app"], path, body, create=True, update=False)
    return FnJSON({"message": "Route successfully created", "route": wire.route(route)})


async def _store(request: Request, *, create: bool) -> Response:
    """PUT creates or updates, PATCH only updates."""
    await fn_namespace(request)
    body = await wrapped(request, "route")
    apps = fn_apps(request)
    app, path = request.path_params["app"], _path(request)
    route = await apps.put_route(app, path, body, create=create, update=True)
    return FnJSON({"message": "Route successfully updated", "route": wire.route(route)})


async def put_route(request: Request) -> Response:
    return await _store(request, create=True)


async def patch_route(request: Request) -> Response:
    return await _store(request, create=False)


async def get_route(request: Request) -> Response:
    await fn_namespace(request)
    route = await fn_apps(request).get_route(request.path_params["app"], _path(request))
    return FnJSON({"message": "Successfully loaded route", "route": wire.route(route)})


async def delete_route(request: Request) -> Response:
    await fn_namespace(request)
    await fn_apps(request).delete_route(request.path_params["app"], _path(request))
    return FnJSON({"message": "Route deleted"})
