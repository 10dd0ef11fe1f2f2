"""/v2/apps: Fn v2's apps, by id (the same apps as v1's, by name)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.fn import ids, v2_wire
from sluice.dialects.fn.context import fn_apps, fn_namespace
from sluice.dialects.fn.errors import FnJSON
from sluice.dialects.fn.model import FnApp
from sluice.errors import BadRequest, Conflict, NotFound

APP_NOT_FOUND = "App not found"
SHAPES = ("GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM")


def _shape(body: dict[str, object], default: str) -> str:
    shape = body.get("shape")
    if shape in (None, ""):
        return default
    if shape not in SHAPES:
        raise BadRequest("Invalid app shape")
    return str(shape)


async def app_of(request: Request, app_id: str) -> FnApp:
    """The app with id `app_id`."""
    (name,) = ids.decode(app_id, 1, APP_NOT_FOUND)
    try:
        return await fn_apps(request).get_app(name)
    except BadRequest:  # a name no app can have
        raise NotFound(APP_NOT_FOUND) from None


async def list_apps(request: Request) -> Response:
    await fn_namespace(request)
    apps = fn_apps(request)
    name = request.query_params.get("name")
    if name:
        try:
            found = [await apps.get_app(name)]
        except (NotFound, BadRequest):
            found = []
    else:
        found = await apps.list_apps(0, 10**9)
    return FnJSON(v2_wire.page(request, [v2_wire.app(a) for a in found], v2_wire.by_name))


async def create_app(request: Request) -> Response:
    await fn_namespace(request)
    body = await v2_wire.body(request)
    if body.get("id"):
        raise BadRequest("App ID cannot be supplied on create")
    name = v2_wire.text(body, "name")
    if not name:
        raise BadRequest("Missing app name")
    created = await fn_apps(request).create_app(
        name, body.get("config"), body.get("annotations"), _shape(body, SHAPES[0])
    )
    return FnJSON(v2_wire.app(created))


async def get_app(request: Request) -> Response:
    await fn_namespace(request)
    return FnJSON(v2_wire.app(await app_of(request, request.path_params["app_id"])))


async def update_app(request: Request) -> Response:
    await fn_namespace(request)
    app_id = request.path_params["app_id"]
    body = await v2_wire.body(request)
    if body.get("id") not in (None, "", app_id):
        raise BadRequest("App ID in path does not match ID in body")
    found = await app_of(request, app_id)
    if body.get("name") not in (None, "", found.name):
        raise Conflict("Could not update - name is immutable")
    updated = await fn_apps(request).update_app(
        found.name, body.get("config"), body.get("annotations"), _shape(body, found.shape)
    )
    return FnJSON(v2_wire.app(updated))


async def delete_app(request: Request) -> Response:
    await fn_namespace(request)
    found = await app_of(request, request.path_params["app_id"])
    await fn_apps(request).delete_app(found.name)
    return Response(status_code=204)
