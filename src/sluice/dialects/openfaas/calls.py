"""/async-function/{call-id}: an async call's status from the moment it is accepted, with
a long poll (`?wait=SECONDS`). OpenFaaS has no such route; its async routes take POST only,
so GET here cannot be mistaken for an invocation. Reading a call and cancelling it need the
namespace's key, whoever made the call and however."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.openfaas import wire
from sluice.dialects.openfaas.context import owner_namespace
from sluice.dialects.openfaas.invoke import call_async, function_target
from sluice.http.context import engine, wait_seconds
from sluice.http.responses import JSON
from sluice.ids import CallId


async def get_status(request: Request, call_id: CallId) -> Response:
    namespace = await owner_namespace(request)
    sluice = engine(request)
    call = await sluice.calls.wait(namespace, call_id, wait_seconds(request))
    return JSON(wire.call_status(call, await sluice.store.get_callback(call_id)))


async def cancel_call(request: Request, call_id: CallId) -> Response:
    """202 once a queued call has ended as cancelled, or a running one is being stopped."""
    namespace = await owner_namespace(request)
    await engine(request).cancellation.call(namespace, call_id)
    return Response(status_code=202)


async def cancel_queued(request: Request) -> Response:
    """DELETE /system/queue/{name}: every queued call of the function ends as cancelled,
    202 {"function": name, "cancelled": N}."""
    namespace = await owner_namespace(request)
    name, target = await function_target(request, namespace)
    count = await engine(request).cancellation.queued_of(namespace, target.path)
    return JSON({"function": name, "cancelled": count}, status_code=202)


async def async_function(request: Request) -> Response:
    """Any method queues a call of the function, with that method (OpenFaaS takes POST
    only); but GET on a call id reads that call and DELETE cancels it."""
    call_id = CallId.parse(request.path_params["name"])
    if call_id is not None and "path" not in request.path_params:
        if request.method == "GET":
            return await get_status(request, call_id)
        if request.method == "DELETE":
            return await cancel_call(request, call_id)
    return await call_async(request)
