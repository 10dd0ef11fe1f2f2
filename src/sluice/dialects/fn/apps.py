"""/v1/apps: create, list, read, update and delete apps."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.fn import wire
from sluice.dialects.fn.context import (
    fn_apps,
    fn_namespace,
    next_offset_cursor,
    offset_cursor,
    per_page,
    wrapped,
)
from sluice.dialects.fn.errors import FnJSON
from sluice.errors import BadRequest


async def list_apps(request: Request) -> Response:
    await fn_namespace(request)
    skip, limit = offset_cursor(request), per_page(request)
    found = await fn_apps(request).list_apps(skip, limit)
    return FnJSON(
        {
            "message": "Successfully listed applications",
            "next_cursor": next_offset_cursor(skip, len(found), limit),
            "apps": [wire.app(a) for a in found],
        }
    )


async def create_app(request: Request) -> Response:
    await fn_namespace(request)
    body = await wrapped(request, "app")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("Invalid app: it needs a name.")
    app = await fn_apps(request).create_app(name, body.get("config"))
    return FnJSON({"message": "App successfully created", "app": wire.app(app)})


async def get_app(request: Request) -> Response:
    await fn_namespace(request)
    app = await fn_apps(request).get_app(request.path_params["app"])
    return FnJSON({"message": "Successfully loaded app", "app": wire.app(app)})


async def update_app(request: Request) -> Response:
    await fn_namespace(request)
    body = await wrapped(request, "app")
    name = request.path_params["app"]
    if body.get("name") not in (None, name):
        raise BadRequest("The app name in the body differs from the URL's.")
    app = await fn_apps(request).update_app(name, body.get("config"))
    return FnJSON({"message": "App successfully updated", "app": wire.app(app)})


async def delete_app(request: Request) -> Response:
    await fn_namespace(request)
    await fn_apps(request).delete_app(request.path_params["app"])
    return FnJSON({"message": "App deleted"})
