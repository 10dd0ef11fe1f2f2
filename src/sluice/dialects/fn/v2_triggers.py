"""/v2/triggers: Fn v2's http triggers. A trigger is kept with its function (so it goes with
it) and answers at /t/{app}/{source}."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.fn import ids, v2_wire
from sluice.dialects.fn.context import fn_apps, fn_namespace
from sluice.dialects.fn.errors import FnJSON
from sluice.dialects.fn.fields import annotation_map, route_path
from sluice.dialects.fn.model import FnRoute
from sluice.dialects.fn.v2_apps import app_of
from sluice.dialects.fn.v2_fns import check_name, fn_of
from sluice.errors import BadRequest, Conflict, NotFound
from sluice.timing import now_ms

TRIGGER_NOT_FOUND = "Trigger not found"
#: a source is a URL path: segments of unreserved characters
_SOURCE = re.compile(r"^/(?:[A-Za-z0-9_.~-]+/?)*$")
_SOURCE_MAX = 1024


def _source(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest("Missing Trigger Source")
    if not value.startswith("/"):
        raise BadRequest("Missing Trigger Source Prefix '/'")
    if len(value) > _SOURCE_MAX or not _SOURCE.match(value):
        raise BadRequest(
            f"Invalid Trigger Source '{value[:80]}': path segments of letters, digits and"
            " '_', '-', '.', '~'."
        )
    return value


def _by_name_and_fn(item: dict[str, Any]) -> str:
    return f"{item['name']}\x00{item['fn_id']}"


def same_source(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


async def _all(request: Request, app: str) -> list[tuple[FnRoute, dict[str, Any]]]:
    routes = await fn_apps(request).list_routes(app)
    return [(r, t) for r in routes for t in r.fields.triggers]


async def find_by_source(request: Request, app: str, source: str) -> FnRoute | None:
    """The function whose trigger answers at `source` in `app`."""
    for route, found in await _all(request, app):
        if same_source(str(found["source"]), source):
            return route
    return None


async def _trigger_of(request: Request, trigger_id: str) -> tuple[FnRoute, dict[str, Any]]:
    app, name, trigger = ids.decode(trigger_id, 3, TRIGGER_NOT_FOUND)
    try:
        route = await fn_apps(request).get_route(app, route_path(name))
    except (NotFound, BadRequest):
        raise NotFound(TRIGGER_NOT_FOUND) from None
    for found in route.fields.triggers:
        if found["name"] == trigger:
            return route, found
    raise NotFound(TRIGGER_NOT_FOUND)


async def _store(request: Request, route: FnRoute, triggers: list[dict[str, Any]]) -> FnRoute:
    return await fn_apps(request).set_triggers(route.app, route.fields.path, triggers)


async def list_triggers(request: Request) -> Response:
    await fn_namespace(request)
    app_id = request.query_params.get("app_id") or ""
    if not app_id:
        raise BadRequest("Missing App ID on Trigger")
    app = await app_of(request, app_id)
    fn_id = request.query_params.get("fn_id") or ""
    if fn_id:
        await fn_of(request, fn_id)
    name = request.query_params.get("name")
    items = [
        v2_wire.trigger(request, route, found)
        for route, found in await _all(request, app.name)
        if (not fn_id or ids.fn_id(route.app, v2_wire.fn_name(route)) == fn_id)
        and (not name or found["name"] == name)
    ]
    return FnJSON(v2_wire.page(request, items, _by_name_and_fn))


async def create_trigger(request: Request) -> Response:
    await fn_namespace(request)
    body = await v2_wire.body(request)
    if body.get("id"):
        raise BadRequest("ID cannot be provided for Trigger creation")
    name = v2_wire.text(body, "name")
    if not name:
        raise BadRequest("Missing name on Trigger")
    check_name(name, "Trigger")
    app_id, fn_id = v2_wire.text(body, "app_id"), v2_wire.text(body, "fn_id")
    if not app_id:
        raise BadRequest("Missing App ID on Trigger")
    if not fn_id:
        raise BadRequest("Missing Fn ID on Trigger")
    if body.get("type") != "http":
        raise BadRequest("Trigger Type Not Supported")
    source = _source(body.get("source"))
    app = await app_of(request, app_id)
    route = await fn_of(request, fn_id)
    if route.app != app.name:
        raise BadRequest("Invalid Fn ID - not owned by specified app")
    if any(t["name"] == name for t in route.fields.triggers):
        raise Conflict("Trigger already exists")
    if await find_by_source(request, app.name, source) is not None:
        raise Conflict("Trigger with the same type and source exists on this app")
    now = now_ms()
    made = {
        "name": name,
        "type": "http",
        "source": source,
        "annotations": annotation_map(body.get("annotations"), {}, "trigger"),
        "created_at": now,
        "updated_at": now,
    }
    stored = await _store(request, route, [*route.fields.triggers, made])
    return FnJSON(v2_wire.trigger(request, stored, made))


async def get_trigger(request: Request) -> Response:
    await fn_namespace(request)
    route, found = await _trigger_of(request, request.path_params["trigger_id"])
    return FnJSON(v2_wire.trigger(request, route, found))


async def update_trigger(request: Request) -> Response:
    """Source and annotations change; name, type, app and function do not."""
    await fn_namespace(request)
    trigger_id = request.path_params["trigger_id"]
    body = await v2_wire.body(request)
    if body.get("id") not in (None, "", trigger_id):
        raise BadRequest("ID in path does not match ID in body")
    route, found = await _trigger_of(request, trigger_id)
    fixed = {"name": found["name"], "type": "http", "app_id": ids.app_id(route.app)}
    fixed["fn_id"] = ids.fn_id(route.app, v2_wire.fn_name(route))
    for key, value in fixed.items():
        if body.get(key) not in (None, "", value):
            raise BadRequest(f"Could not update - {key} is immutable")
    changed = dict(found)
    # an empty source, like null, keeps the one there (Fn's `Trigger.Update`)
    if body.get("source") not in (None, ""):
        source = _source(body["source"])
        other = await find_by_source(request, route.app, source)
        if other is not None and not same_source(source, str(found["source"])):
            raise Conflict("Trigger with the same type and source exists on this app")
        changed["source"] = source
    changed["annotations"] = annotation_map(
        body.get("annotations"), found.get("annotations") or {}, "trigger"
    )
    changed["updated_at"] = now_ms()
    triggers = [changed if t["name"] == found["name"] else t for t in route.fields.triggers]
    stored = await _store(request, route, triggers)
    return FnJSON(v2_wire.trigger(request, stored, changed))


async def delete_trigger(request: Request) -> Response:
    await fn_namespace(request)
    route, found = await _trigger_of(request, request.path_params["trigger_id"])
    await _store(request, route, [t for t in route.fields.triggers if t["name"] != found["name"]])
    return Response(status_code=204)
