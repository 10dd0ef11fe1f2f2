"""/r/{app}/{path}: call a route. A sync route answers with the function's output; an
async route (or `Fn-Invoke-Type: detached`) answers 202 {"call_id"} once the call is
stored. Every answer carries the call's id in `Fn_call_id`. `start` and `output` are shared
with v2's /invoke and /t."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import Response

from sluice.answers import BODILESS, valid_header, valid_status
from sluice.call_meta import CallMeta
from sluice.dialects.fn.context import fn_apps, fn_namespace
from sluice.dialects.fn.errors import FnJSON, Maker, error
from sluice.dialects.fn.model import FnRoute
from sluice.engine.calls import Accepted, CallOptions
from sluice.envelope import HOP_BY_HOP, envelope
from sluice.http.body import read_body
from sluice.http.context import engine
from sluice.http.tracing import caller_trace
from sluice.ids import new_transaction_id
from sluice.records import Call, CallState

CALL_ID_HEADER = "Fn_call_id"
#: request headers the function never sees
_PRIVATE = ("authorization", "cookie")
_STATUS = {CallState.TIMEOUT: (504, "Timed out")}


def detached(request: Request) -> bool:
    return request.headers.get("fn-invoke-type", "").lower() == "detached"


async def start(request: Request, namespace: str, route: FnRoute, run_async: bool) -> Accepted:
    """The call of `route` with this request; for a sync call, held until it ends or its
    timeout passes."""
    sluice = engine(request)
    body = await read_body(request, sluice.settings.request_max_bytes)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _PRIVATE}
    path = route.fields.path
    params = envelope(request.method, str(request.url), path, request.url.query, headers, body)
    meta = CallMeta(dialect="fn", subject=namespace, transid=new_transaction_id())
    wait_ms = None if run_async else route.fields.timeout * 1000
    options = CallOptions(trace=caller_trace(request))
    return await sluice.calls.invoke(
        namespace, namespace, route.action, params, len(body), meta, wait_ms, options
    )


async def invoke(request: Request) -> Response:
    namespace = await fn_namespace(request)
    app, path = request.path_params["app"], "/" + request.path_params["path"]
    route = await fn_apps(request).get_route(app, path)
    run_async = route.fields.type == "async" or detached(request)
    accepted = await start(request, namespace, route, run_async)
    answer_headers = {CALL_ID_HEADER: accepted.id.ulid}
    if run_async:
        return FnJSON({"call_id": accepted.id.ulid}, status_code=202, headers=answer_headers)
    if accepted.call is None:
        return error("Timed out", 504, answer_headers)
    return output(accepted.call, {**_route_headers(route.fields.headers), **answer_headers})


def _route_headers(headers: dict[str, list[str]]) -> dict[str, str]:
    return {name: ", ".join(values) for name, values in headers.items()}


def output(call: Call, headers: dict[str, str], make: Maker = error) -> Response:
    """The function's response; Fn's error (in `make`'s shape) for a call that failed."""
    result = (call.record or {}).get("result")
    if call.state is not CallState.SUCCESS or not isinstance(result, dict):
        status, message = _STATUS.get(call.state, (502, "function failed"))
        detail = result.get("error") if isinstance(result, dict) else None
        return make(f"{message}: {detail}" if detail else message, status, headers)
    if "statusCode" not in result and "body" not in result:  # an action of another dialect
        return FnJSON(result, headers=headers)
    given = result.get("headers") or {}
    own = {str(k).lower(): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
    status = result.get("statusCode", 200)
    if not valid_status(status) or not all(valid_header(*item) for item in own.items()):
        return make("function failed: its response is not valid HTTP", 502, headers)
    body = b"" if status in BODILESS else _bytes(result.get("body", ""), result.get("bodyBase64"))
    response = Response(body, status_code=status)
    sent = {**{k: v for k, v in own.items() if k not in HOP_BY_HOP}, **headers}
    # as bytes: a value may be any UTF-8 the function wrote, not only Latin-1
    response.raw_headers.extend((k.lower().encode(), v.encode()) for k, v in sent.items())
    return response


def _bytes(body: object, is_base64: object) -> bytes:
    text = body if isinstance(body, str) else ""
    if is_base64:
        try:
            return base64.b64decode(text)
        except (binascii.Error, ValueError):
            return b""
    return text.encode("utf-8")
