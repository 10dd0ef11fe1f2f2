"""/v2/fns: Fn v2's functions. A function is a route of its app at `/` + its name, so v1's
routes and calls see it too; its format defaults to http-stream (Fn v2's FDKs)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.fn import ids, v2_wire
from sluice.dialects.fn.context import fn_apps, fn_namespace
from sluice.dialects.fn.errors import FnJSON
from sluice.dialects.fn.fields import route_path
from sluice.dialects.fn.model import FnRoute
from sluice.dialects.fn.v2_apps import app_of
from sluice.errors import BadRequest, Conflict, NotFound

FN_NOT_FOUND = "Fn not found"
V2_FORMAT = "http-stream"
#: what may stand in a URL path segment unescaped, as Fn asks of a name
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$")
#: the fields a v2 body may set: Fn's, and Sluice's own (the code and how to run it)
_FIELDS = ("image", "memory", "timeout", "idle_timeout", "config", "annotations")
_SLUICE_FIELDS = ("code", "runtime", "cmd", "format", "type")


def check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise BadRequest(f"Invalid {what} name '{name[:255]}': use letters, digits, '_', '-', '.'")
    return name


async def fn_of(request: Request, fn_id: str) -> FnRoute:
    app, name = ids.decode(fn_id, 2, FN_NOT_FOUND)
    try:
        return await fn_apps(request).get_route(app, route_path(name))
    except (NotFound, BadRequest):
        raise NotFound(FN_NOT_FOUND) from None


def _route_body(body: dict[str, Any]) -> dict[str, Any]:
    """The route fields in a v2 body; Fn's 0 means "the default", and an empty image leaves
    the image as it is (Fn's `Fn.Update` in api/models/fn.go)."""
    out = {k: body[k] for k in (*_FIELDS, *_SLUICE_FIELDS) if k in body and body[k] is not None}
    return {
        k: v
        for k, v in out.items()
        if not (k in ("memory", "timeout", "idle_timeout") and v == 0)
        and not (k == "image" and v == "")
    }


def _by_name_and_app(item: dict[str, Any]) -> str:
    return f"{item['name']}\x00{item['app_id']}"


async def list_fns(request: Request) -> Response:
    """The functions of `app_id`, or of every app without it (as Fn lists them)."""
    await fn_namespace(request)
    apps = fn_apps(request)
    app_id = request.query_params.get("app_id") or ""
    if app_id:
        names = [(await app_of(request, app_id)).name]
    else:
        names = [a.name for a in await apps.list_apps(0, 10**9)]
    name = request.query_params.get("name")
    items = [
        v2_wire.fn(request, route)
        for app in names
        for route in await apps.list_routes(app)
        if not name or v2_wire.fn_name(route) == name
    ]
    return FnJSON(v2_wire.page(request, items, _by_name_and_app))


async def create_fn(request: Request) -> Response:
    await fn_namespace(request)
    body = await v2_wire.body(request)
    if body.get("id"):
        raise BadRequest("ID cannot be provided for Fn creation")
    name = v2_wire.text(body, "name")
    if not name:
        raise BadRequest("Missing Fn name")
    check_name(name, "Fn")
    app_id = v2_wire.text(body, "app_id")
    if not app_id:
        raise BadRequest("Missing AppID on Fn")
    if not v2_wire.text(body, "image"):
        raise BadRequest("Missing image on Fn")
    app = await app_of(request, app_id)
    apps = fn_apps(request)
    try:
        route = await apps.put_route(
            app.name,
            route_path(name),
            _route_body(body),
            create=True,
            update=False,
            default_format=V2_FORMAT,
        )
    except Conflict:
        raise Conflict("Fn with specified name already exists") from None
    return FnJSON(v2_wire.fn(request, route))


async def get_fn(request: Request) -> Response:
    await fn_namespace(request)
    return FnJSON(v2_wire.fn(request, await fn_of(request, request.path_params["fn_id"])))


async def update_fn(request: Request) -> Response:
    await fn_namespace(request)
    fn_id = request.path_params["fn_id"]
    body = await v2_wire.body(request)
    if body.get("id") not in (None, "", fn_id):
        raise BadRequest("Fn ID in path does not match that in body")
    found = await fn_of(request, fn_id)
    if body.get("name") not in (None, "", v2_wire.fn_name(found)):
        raise BadRequest("Could not update - name is immutable")
    if body.get("app_id") not in (None, "", ids.app_id(found.app)):
        raise BadRequest("Could not update - app_id is immutable")
    route = await fn_apps(request).put_route(
        found.app, found.fields.path, _route_body(body), create=False, update=True
    )
    return FnJSON(v2_wire.fn(request, route))


async def delete_fn(request: Request) -> Response:
    await fn_namespace(request)
    found = await fn_of(request, request.path_params["fn_id"])
    await fn_apps(request).delete_route(found.app, found.fields.path)
    return Response(status_code=204)
