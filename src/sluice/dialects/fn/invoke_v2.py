"""Fn v2's invocations: POST /invoke/{fn_id} (with `Fn-Invoke-Type: detached`, 202 and the
call's id as soon as the call is stored, its output kept with the call) and any method on
/t/{app}/{source}, a function's http trigger. Both answer with `Fn-Call-Id`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.fn.context import fn_apps, fn_namespace
from sluice.dialects.fn.errors import v2_error
from sluice.dialects.fn.invoke import detached, output, start
from sluice.dialects.fn.model import FnRoute
from sluice.dialects.fn.v2_fns import fn_of
from sluice.dialects.fn.v2_triggers import find_by_source
from sluice.errors import BadRequest, NotFound

CALL_ID_HEADER = "Fn-Call-Id"


async def _run(request: Request, namespace: str, route: FnRoute, run_async: bool) -> Response:
    accepted = await start(request, namespace, route, run_async)
    headers = {CALL_ID_HEADER: accepted.id.ulid}
    if run_async:
        return Response(status_code=202, headers=headers)
    if accepted.call is None:
        return v2_error("Timed out", 504, headers)
    return output(accepted.call, headers, v2_error)


async def invoke(request: Request) -> Response:
    namespace = await fn_namespace(request)
    route = await fn_of(request, request.path_params["fn_id"])
    return await _run(request, namespace, route, detached(request))


async def trigger(request: Request) -> Response:
    namespace = await fn_namespace(request)
    app, source = request.path_params["app"], "/" + request.path_params["source"]
    try:
        await fn_apps(request).get_app(app)
    except BadRequest:
        raise NotFound("App not found") from None
    route = await find_by_source(request, app, source)
    if route is None:
        raise NotFound("Trigger not found")
    return await _run(request, namespace, route, detached(request))
