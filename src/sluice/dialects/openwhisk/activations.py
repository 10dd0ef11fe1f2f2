"""/namespaces/{ns}/activations: finished calls, as OpenWhisk shows them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.openwhisk import wire
from sluice.dialects.openwhisk.context import list_window, query_bool, query_int
from sluice.errors import NotFound
from sluice.http.context import caller_namespace, engine, parse_activation_id
from sluice.http.responses import JSON
from sluice.records import Call
from sluice.store.base import CallFilter


async def _finished(request: Request) -> Call:
    """The call, once finished: queued and running calls are 404 here, as upstream."""
    namespace = await caller_namespace(request)
    call_id = parse_activation_id(request.path_params["id"])
    call = await engine(request).calls.get(namespace, call_id)
    if not call.state.terminal:
        raise NotFound()
    return call


async def list_activations(request: Request) -> Response:
    namespace = await caller_namespace(request)
    skip, limit = list_window(request)
    name = request.query_params.get("name") or None
    since = query_int(request, "since", 0) or None
    upto = query_int(request, "upto", 0) or None
    query = CallFilter(namespace, name, since, upto, True, skip, limit)
    calls = engine(request).calls
    if query_bool(request, "count"):
        return JSON({"activations": await calls.count(query)})
    found = await calls.page(query)
    if query_bool(request, "docs"):
        return JSON([wire.activation(c) for c in found])
    return JSON([wire.activation_summary(c) for c in found])


async def get_activation(request: Request) -> Response:
    return JSON(wire.activation(await _finished(request)))


async def get_result(request: Request) -> Response:
    return JSON(wire.response(await _finished(request)))


async def get_logs(request: Request) -> Response:
    call = await _finished(request)
    return JSON({"logs": (call.record or {}).get("logs", [])})
