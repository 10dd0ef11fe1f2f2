"""/v2/fns/{fn_id}/calls[/{call_id}[/log]]: a function's calls, as Fn 0.3.562 served them
beside v1's (the same calls as its app's v1 calls)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.fn import calls, ids, wire
from sluice.dialects.fn.context import fn_namespace
from sluice.dialects.fn.errors import FnJSON
from sluice.dialects.fn.model import FnRoute
from sluice.dialects.fn.v2_fns import fn_of
from sluice.records import Call


def _call(route: FnRoute, found: Call) -> dict[str, Any]:
    fn_id = ids.fn_id(route.app, route.action.partition("/")[2])
    return {**wire.call(found), "app_id": ids.app_id(route.app), "fn_id": fn_id}


async def list_calls(request: Request) -> Response:
    await fn_namespace(request)  # before saying whether the function exists
    route = await fn_of(request, request.path_params["fn_id"])
    found, cursor = await calls.call_page(request, route.app, route.fields.path)
    return FnJSON({"items": [_call(route, c) for c in found], "next_cursor": cursor})


async def _one(request: Request) -> tuple[FnRoute, Call]:
    await fn_namespace(request)
    route = await fn_of(request, request.path_params["fn_id"])
    found = await calls.app_call(request, route.app, request.path_params["call_id"], route.action)
    return route, found


async def get_call(request: Request) -> Response:
    route, found = await _one(request)
    return FnJSON({"message": "Successfully loaded call", "call": _call(route, found)})


async def get_log(request: Request) -> Response:
    _, found = await _one(request)
    return calls.log_answer(request, found)
