"""Fn v2's JSON: apps, functions and triggers with ids, and the endpoints the server
announces in their annotations; and v2's lists ({"items", "next_cursor"})."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request

from sluice.dialects.fn import ids
from sluice.dialects.fn.context import BODY_MAX_BYTES, PER_PAGE_DEFAULT, PER_PAGE_MAX
from sluice.dialects.fn.fields import route_name
from sluice.dialects.fn.model import FnApp, FnRoute
from sluice.dialects.fn.wire import timestamp
from sluice.errors import BadRequest
from sluice.http.body import read_json_object
from sluice.numbers import whole_number

INVOKE_ENDPOINT = "fnproject.io/fn/invokeEndpoint"
HTTP_ENDPOINT = "fnproject.io/trigger/httpEndpoint"


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def app(found: FnApp) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": ids.app_id(found.name),
        "name": found.name,
        "config": found.config,
        "created_at": timestamp(found.created),
        "updated_at": timestamp(found.updated),
    }
    if found.annotations:
        out["annotations"] = found.annotations
    if found.shape:
        out["shape"] = found.shape
    return out


def fn_name(route: FnRoute) -> str:
    return route_name(route.fields.path)


def fn(request: Request, found: FnRoute) -> dict[str, Any]:
    fields, name = found.fields, fn_name(found)
    fn_id = ids.fn_id(found.app, name)
    return {
        "id": fn_id,
        "name": name,
        "app_id": ids.app_id(found.app),
        "image": fields.image,
        "memory": fields.memory,
        "timeout": fields.timeout,
        "idle_timeout": fields.idle_timeout,
        "config": fields.config,
        "annotations": {
            **fields.annotations,
            INVOKE_ENDPOINT: f"{base_url(request)}/invoke/{fn_id}",
        },
        "created_at": timestamp(found.created),
        "updated_at": timestamp(found.updated),
    }


def trigger(request: Request, route: FnRoute, found: dict[str, Any]) -> dict[str, Any]:
    name = fn_name(route)
    source = str(found["source"])
    endpoint = f"{base_url(request)}/t/{route.app}/{source.lstrip('/')}"
    return {
        "id": ids.trigger_id(route.app, name, str(found["name"])),
        "name": found["name"],
        "app_id": ids.app_id(route.app),
        "fn_id": ids.fn_id(route.app, name),
        "type": found.get("type", "http"),
        "source": source,
        "annotations": {**(found.get("annotations") or {}), HTTP_ENDPOINT: endpoint},
        "created_at": timestamp(found.get("created_at")),
        "updated_at": timestamp(found.get("updated_at")),
    }


def per_page(request: Request) -> int:
    """Fn v2 clamps per_page to 1..100 (30 when absent or not a number)."""
    value = whole_number(request.query_params.get("per_page") or "")
    if value is None or value <= 0:
        return PER_PAGE_DEFAULT
    return min(value, PER_PAGE_MAX)


def _after(request: Request) -> str | None:
    """The sort key a page starts after: Fn's cursor is the last key, base64url-encoded."""
    text = request.query_params.get("cursor") or ""
    if not text:
        return None
    try:
        padded = text + "=" * (-len(text) % 4)
        # Fn compares the decoded bytes as text: any bytes are a cursor
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8", "replace")
    except ValueError:
        raise BadRequest(f"Invalid cursor '{text[:40]}'.") from None


def page(
    request: Request, items: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], str]
) -> dict[str, Any]:
    """One page of `items` in `key` order, after the request's cursor; a full page names
    its last key as the next cursor."""
    after, limit = _after(request), per_page(request)
    ordered = sorted(items, key=key)
    found = [i for i in ordered if after is None or key(i) > after][:limit]
    cursor = ""
    if len(found) == limit:
        cursor = base64.urlsafe_b64encode(key(found[-1]).encode()).decode().rstrip("=")
    return {"items": found, "next_cursor": cursor}


def by_name(item: dict[str, Any]) -> str:
    return str(item["name"])


async def body(request: Request) -> dict[str, Any]:
    """The JSON object a POST or PUT must carry (Fn refuses an empty body too)."""
    found, size = await read_json_object(request, BODY_MAX_BYTES)
    if size == 0:
        raise BadRequest("Invalid JSON")
    return found


def text(body: dict[str, Any], key: str) -> str:
    """A string field of a body, "" when absent or not a string."""
    value = body.get(key)
    return value if isinstance(value, str) else ""
