"""Sluice's own routes: a call's live state from the moment it is accepted, with a long poll."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.dialects.openwhisk.activations import parse_activation_id
from sluice.dialects.openwhisk.context import caller_namespace, engine
from sluice.errors import BadRequest
from sluice.http.responses import JSON
from sluice.records import Call

MAX_WAIT_SECONDS = 60.0


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
    }


def wait_seconds(request: Request) -> float:
    """The long poll's `?wait=` (seconds, 0 to MAX_WAIT_SECONDS; 0 when absent)."""
    try:
        wait = float(request.query_params.get("wait") or "0")
    except ValueError as exc:
        raise BadRequest("The query parameter 'wait' must be a number of seconds.") from exc
    return min(max(wait, 0.0), MAX_WAIT_SECONDS) if wait == wait else 0.0


async def get_call(request: Request) -> Response:
    namespace = await caller_namespace(request)
    call_id = parse_activation_id(request.path_params["id"])
    call = await engine(request).calls.wait(namespace, call_id, wait_seconds(request))
    return JSON(call_state(call))


def routes() -> list[BaseRoute]:
    return [Route("/sluice/v1/namespaces/{ns}/calls/{id}", get_call, methods=["GET"])]
