"""/namespaces/{ns}/actions: create, read, list, delete and invoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.call_meta import CallMeta
from sluice.dialects.openwhisk import wire
from sluice.dialects.openwhisk.context import caller_and_target, list_window, query_bool, query_int
from sluice.engine.calls import CallOptions
from sluice.engine.names import check_name
from sluice.engine.resolve import resolve_action
from sluice.http.body import CODE_MAX_BYTES, read_json_object
from sluice.http.context import caller_namespace, engine
from sluice.http.headers import first_values
from sluice.http.responses import JSON
from sluice.http.tracing import caller_trace
from sluice.ids import new_transaction_id
from sluice.records import CallState


async def list_actions(request: Request) -> Response:
    namespace = await caller_namespace(request)
    actions = engine(request).actions
    if query_bool(request, "count"):
        return JSON({"actions": await actions.count(namespace)})
    skip, limit = list_window(request)
    return JSON([wire.action_summary(a) for a in await actions.page(namespace, skip, limit)])


async def put_action(request: Request) -> Response:
    namespace = await caller_namespace(request)
    body, _ = await read_json_object(request, CODE_MAX_BYTES)
    entity = await engine(request).actions.put(
        namespace, request.path_params["name"], body, query_bool(request, "overwrite")
    )
    return JSON(wire.action(entity))


async def get_action(request: Request) -> Response:
    caller, namespace = await caller_and_target(request)
    sluice = engine(request)
    name = request.path_params["name"]
    if name.endswith("/"):  # `actions/pkg/`: what `wsk action list pkg` asks for
        return await _list_in_package(request, caller, namespace, name[:-1])
    target = await resolve_action(sluice.store, sluice.packages, caller, namespace, name)
    entity = target.action
    code = request.query_params.get("code", "true").lower() != "false"
    return JSON(wire.action(entity, code=code))


async def _list_in_package(request: Request, caller: str, namespace: str, name: str) -> Response:
    """The actions of a package the caller may read (its own, or another namespace's
    published one). A binding holds none of its own, as upstream lists it."""
    packages = engine(request).packages
    package = await packages.readable(caller, namespace, check_name(name, "package name"))
    held = [] if package.doc.get("binding") else await packages.contents(namespace, name)
    if query_bool(request, "count"):
        return JSON({"actions": len(held)})
    skip, limit = list_window(request)
    return JSON([wire.action_summary(a) for a in held[skip : skip + limit]])


async def delete_action(request: Request) -> Response:
    namespace = await caller_namespace(request)
    entity = await engine(request).actions.delete(namespace, request.path_params["name"])
    return JSON(wire.action(entity))


async def invoke_action(request: Request) -> Response:
    caller, namespace = await caller_and_target(request)
    sluice = engine(request)
    params, size = await read_json_object(request, sluice.settings.request_max_bytes)
    blocking = query_bool(request, "blocking")
    wait_ms = (
        query_int(request, "timeout", sluice.settings.blocking_wait_ms, 0) if blocking else None
    )
    meta = CallMeta(
        dialect="openwhisk",
        subject=caller,
        transid=first_values(request).get("x-request-id") or new_transaction_id(),
    )
    options = CallOptions(trace=caller_trace(request))
    accepted = await sluice.calls.invoke(
        caller, namespace, request.path_params["name"], params, size, meta, wait_ms, options
    )
    headers = {"x-openwhisk-activation-id": accepted.id.hex}
    call = accepted.call
    if call is None:
        return JSON({"activationId": accepted.id.hex}, status_code=202, headers=headers)
    status = {CallState.SUCCESS: 200, CallState.PLATFORM_ERROR: 500}.get(call.state, 502)
    if query_bool(request, "result"):
        return JSON(wire.response(call)["result"], status_code=status, headers=headers)
    return JSON(wire.activation(call), status_code=status, headers=headers)
