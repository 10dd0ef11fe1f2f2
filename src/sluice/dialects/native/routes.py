"""Sluice's own routes: a call's live state from the moment it is accepted, with a long poll."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.errors import BadRequest
from sluice.http.context import caller_namespace, engine, parse_activation_id, wait_seconds
from sluice.http.responses import JSON
from sluice.records import Call
from sluice.store.base import CallFilter


def call_state(call: Call) -> dict[str, Any]:
    return {
        "id": call.id.ulid,
        "activationId": call.id.hex,
        "uuid": call.id.uuid,
        "namespace": call.namespace,
        "action": f"{call.namespace}/{call.path}",
        "state": call.state.value,
        "created": call.created,
        "started": call.started,
        "completed": call.ended,
        "attempts": call.attempts,
        "trace": _trace(call),
    }


def _trace(call: Call) -> dict[str, Any] | None:
    """The call's span: its trace id, its own span id and the caller's (or the sequence's
    or trigger's) it is a child of; None for a call kept from before traces."""
    if call.trace is None:
        return None
    return {
        "traceId": call.trace.trace_id,
        "spanId": call.trace.span_id,
        "parentSpanId": call.trace.parent_id,
        "traceparent": call.trace.traceparent,
    }


async def get_call(request: Request) -> Response:
    namespace = await caller_namespace(request)
    call_id = parse_activation_id(request.path_params["id"])
    call = await engine(request).calls.wait(namespace, call_id, wait_seconds(request))
    return JSON(call_state(call))


#: most live calls one listing returns
MAX_LISTED = 200


async def list_live_calls(request: Request) -> Response:
    """The namespace's calls not ended yet (queued, running), newest first: OpenWhisk's
    activation list shows only those that ended. `?limit=` (default 30, at most 200)."""
    namespace = await caller_namespace(request)
    try:
        limit = int(request.query_params.get("limit") or "30")
    except ValueError as exc:
        raise BadRequest("The query parameter 'limit' must be a whole number.") from exc
    query = CallFilter(
        namespace, terminal_only=False, live_only=True, limit=min(max(limit, 0), MAX_LISTED)
    )
    return JSON([call_state(call) for call in await engine(request).calls.page(query)])


def routes() -> list[BaseRoute]:
    return [
        Route("/sluice/v1/namespaces/{ns}/calls", list_live_calls, methods=["GET"]),
        Route("/sluice/v1/namespaces/{ns}/calls/{id}", get_call, methods=["GET"]),
    ]
