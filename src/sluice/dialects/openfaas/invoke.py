"""/function/{name}[/{path}] (waits for the answer) and /async-function/{name}[/{path}]
(202 once the call is stored): the request becomes a call of the namespace's action.

The function sees the request's headers, its own credentials among them, but never a
Sluice key: an Authorization header that holds one is neither passed on nor stored."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sluice.call_meta import CallbackMeta, CallMeta, OpenFaasMeta
from sluice.dialects.openfaas import wire
from sluice.dialects.openfaas.context import function_name, open_to_all, owner_namespace
from sluice.engine.calls import CallOptions
from sluice.engine.resolve import Target, resolve_action
from sluice.envelope import HEADERS, Body, request_head
from sluice.errors import BadRequest, Conflict, NotFound
from sluice.http.auth import request_carries_key
from sluice.http.body import read_body
from sluice.http.context import engine
from sluice.http.headers import first_values
from sluice.http.params import check_final, request_parts
from sluice.http.tracing import caller_trace
from sluice.ids import CallId, new_transaction_id
from sluice.kinds import serves_http

log = logging.getLogger("sluice.openfaas")
#: the most of a message write_debug shows
_SHOWN_MAX = 4096


def _shown(params: dict[str, Any]) -> str:
    text = orjson.dumps(params).decode()
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + f"... ({len(text)} chars)"


class _Request:
    """One invocation as the gateway sees it: the function, its ids and what it is sent."""

    def __init__(self, request: Request, namespace: str, target: Target, keyed: bool) -> None:
        self.request = request
        self.namespace = namespace
        self.target = target
        self.start_ns = time.time_ns()
        headers = first_values(request)
        given = headers.get("x-call-id", "").strip()
        self.call_id = CallId.parse(given) if given else None
        #: the X-Call-Id the function and the callback see: the caller's, kept as given
        self.call_header = given or None
        self.callback = wire.callback_url(headers.get("x-callback-url"))
        self.run_at = wire.run_at(headers, self.start_ns // 1_000_000)
        self.idempotency_key = wire.idempotency_key(headers)
        if self.idempotency_key is not None and not keyed:
            # a replay hands back the first call's answer: callers without the key share
            # keys of their own, per function, and never replay a call made with the key
            self.idempotency_key = f"open:{target.path}:{self.idempotency_key}"

    @property
    def path(self) -> str:
        rest: str = self.request.path_params.get("path", "")
        return "/" + rest

    def options(self, call_id: CallId | None, body: Body | None) -> CallOptions:
        return CallOptions(
            call_id=call_id,
            callback=self.callback,
            run_at=self.run_at,
            idempotency_key=self.idempotency_key,
            claim_check=True,
            body=body,
            trace=caller_trace(self.request),
        )

    def finish_ids(self, call_id: CallId) -> dict[str, str]:
        """The headers the gateway adds to the request (and to its answer)."""
        return {"x-call-id": self.call_header or call_id.uuid, "x-start-time": str(self.start_ns)}

    async def params(
        self, call_id: CallId, limit: int, private: tuple[str, ...]
    ) -> tuple[dict[str, Any], Body | None, int]:
        """The call's parameters, its body apart (see Body), and the body's size."""
        added = self.finish_ids(call_id)
        request = self.request
        kind = self.target.function.kind
        if serves_http(kind):
            data = await read_body(request, limit)
            headers = {k: v for k, v in request.headers.items() if k not in private}
            head = request_head(
                request.method, str(request.url), self.path, request.url.query, {**headers, **added}
            )
            return head, Body(data, "utf8"), len(data)
        raw = self.target.function.flag("raw-http")
        params, body, size = await request_parts(request, raw, limit)
        check_final(self.target, {k: v for k, v in params.items() if not k.startswith("__ow_")})
        headers = {k: v for k, v in params[HEADERS].items() if k not in private}
        params[HEADERS] = {**headers, **added}
        params["__ow_path"] = self.path if self.path != "/" else ""
        return params, body, size

    def meta(self, function: str, call_id: CallId, waited: bool) -> CallMeta:
        content_type = first_values(self.request).get("content-type")
        faas = OpenFaasMeta(function, self.start_ns, self.call_header, content_type)
        callback = None
        if self.callback is not None:
            ids = self.finish_ids(call_id)
            headers = {
                "X-Call-Id": ids["x-call-id"],
                "X-Start-Time": ids["x-start-time"],
                "X-Function-Name": function,
                **wire.correlation_headers(self.request.headers),
            }
            callback = CallbackMeta(headers, content_type)
        return CallMeta(
            dialect="openfaas",
            async_=not waited,
            subject=self.namespace,
            transid=new_transaction_id(),
            openfaas=faas,
            callback=callback,
        )


async def function_target(request: Request, namespace: str) -> tuple[str, Target]:
    name = function_name(request.path_params["name"], namespace)
    sluice = engine(request)
    try:
        target = await resolve_action(sluice.store, sluice.packages, namespace, namespace, name)
    except (NotFound, BadRequest) as exc:
        raise NotFound(f"error finding function {name}: not found") from exc
    return name, target


async def _invoked(request: Request) -> tuple[str, str, Target, bool]:
    """The namespace, name and action a request invokes once it may, and whether it came
    with the namespace's key: an OpenFaaS function runs without one, any other action (and
    an unknown name's 404) only with it, so a caller without the key learns nothing of the
    namespace's other action names. A Sluice key, when one is given, is always checked."""
    namespace = engine(request).settings.openfaas_namespace
    keyed = request_carries_key(request)
    try:
        name, target = await function_target(request, namespace)
    except NotFound:
        await owner_namespace(request)
        raise
    if keyed or not open_to_all(request, target):
        await owner_namespace(request)
        keyed = True
    return namespace, name, target, keyed


def _private(request: Request) -> tuple[str, ...]:
    """Request headers kept from the function: Authorization when it is a Sluice key (or
    when SLUICE_OPENFAAS_AUTH makes it one); a function's own scheme is passed on."""
    if engine(request).settings.openfaas_auth or request_carries_key(request):
        return ("authorization",)
    return ()


async def _accept(request: Request, wait_ms: int | None) -> Response:
    sluice = engine(request)
    namespace, name, target, keyed = await _invoked(request)
    call = _Request(request, namespace, target, keyed)
    if call.callback is not None:
        await wire.check_callback(sluice.destinations, call.callback)
    call_id = call.call_id or CallId.new()
    private = _private(request)
    limit = max(sluice.settings.request_max_bytes, sluice.settings.claim_check_max_bytes)
    params, body, size = await call.params(call_id, limit, private)
    options = call.options(call_id, body)
    meta = call.meta(name, call_id, wait_ms is not None)
    try:
        accepted = await sluice.calls.invoke(
            namespace, namespace, target.path, params, size, meta, wait_ms, options
        )
    except Conflict:
        if call.call_id is None:
            raise
        # the caller's X-Call-Id names an earlier call (ids travel along chains of
        # functions): this call gets an id of its own and still shows the caller's
        options = call.options(None, body)
        accepted = await sluice.calls.invoke(
            namespace, namespace, target.path, params, size, meta, wait_ms, options
        )
    if sluice.settings.write_debug:
        shown = {**params, **body.params()} if body is not None and size <= _SHOWN_MAX else params
        log.info("call %s to %s accepted: %s", accepted.id.uuid, name, _shown(shown))
    ids = wire.id_headers(accepted.id, call.finish_ids(accepted.id))
    if accepted.replayed:
        ids["X-Call-Id"] = accepted.id.uuid
        ids["Idempotent-Replayed"] = "true"
    if accepted.call is None:
        return Response(status_code=202, headers=ids)
    return wire.function_response(accepted.call, request.headers.get("content-type"), ids)


async def call_function(request: Request) -> Response:
    """/function/...: the function's answer, or 202 with the id past the blocking cap."""
    return await _accept(request, engine(request).settings.blocking_wait_ms)


async def call_async(request: Request) -> Response:
    """/async-function/...: 202 Accepted as soon as the call is stored."""
    return await _accept(request, None)
