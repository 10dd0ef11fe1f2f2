"""Scaling as OpenFaaS's gateway and providers take it: /system/scale-function/{name} sets
a function's replicas (the warm processes kept of it; 0: none stays after its calls), and
/system/alert scales by AlertManager's alerts as the gateway does (a firing alert adds a
step of its scaling factor up to its maximum, a resolved one goes back to its minimum)."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice.dialects.openfaas.context import function_name, owner_namespace
from sluice.dialects.openfaas.deployment import labels_of, replicas_of
from sluice.dialects.openfaas.errors import text_error
from sluice.dialects.openwhisk.context import engine
from sluice.engine.actions import REPLICAS, is_count
from sluice.errors import BadRequest, NotFound
from sluice.http.body import read_json_object

#: the gateway's defaults and the labels that override them (gateway/scaling/ranges.go)
DEFAULT_MIN, DEFAULT_MAX, DEFAULT_FACTOR = 1, 5, 10
MIN_LABEL, MAX_LABEL, FACTOR_LABEL = (
    "com.openfaas.scale.min",
    "com.openfaas.scale.max",
    "com.openfaas.scale.factor",
)
_BODY_MAX = 256 * 1024


async def set_replicas(request: Request, namespace: str, name: str, replicas: int) -> None:
    """Store `replicas` on the function; scaled to zero, its idle processes stop now."""
    sluice = engine(request)
    try:
        action = await sluice.actions.get(namespace, name)
    except (NotFound, BadRequest) as exc:
        raise NotFound(f"function {name} not found") from exc
    if replicas_of(action.doc) != replicas:
        kept = [a for a in action.doc["annotations"] if a["key"] != REPLICAS]
        body = {"annotations": [*kept, {"key": REPLICAS, "value": replicas}]}
        await sluice.actions.put(namespace, name, body, overwrite=True)
    if replicas == 0:
        sluice.drop_warm(namespace, name)


async def scale_function(request: Request) -> Response:
    namespace = await owner_namespace(request)
    requested = request.query_params.get("namespace")
    if requested not in (None, "", namespace):
        raise BadRequest(f"namespace must be: {namespace}")
    name = function_name(request.path_params["name"], namespace)
    try:
        body, _ = await read_json_object(request, _BODY_MAX)
    except BadRequest:
        return text_error("Cannot parse request. Please pass valid JSON.", 400)
    replicas = body.get("replicas", 0)
    if not is_count(replicas):
        return text_error("Cannot parse request. Please pass valid JSON.", 400)
    # a provider caps what it is asked for: here, at the processes the server may run
    highest = engine(request).settings.max_processes
    await set_replicas(request, namespace, name, min(replicas, highest))
    return Response(status_code=202)


def _label(labels: dict[str, Any], key: str, default: int) -> int:
    try:
        value = int(labels.get(key, default))
    except (TypeError, ValueError):
        return default
    return value if value >= 0 else default


def next_replicas(status: str, current: int, labels: dict[str, Any]) -> int:
    """The gateway's CalculateReplicas, with the function's own range and factor."""
    highest = min(_label(labels, MAX_LABEL, DEFAULT_MAX), DEFAULT_MAX)
    step = math.ceil(highest / 100 * _label(labels, FACTOR_LABEL, DEFAULT_FACTOR))
    if status == "firing" and step > 0:
        return min(current + step, highest)
    return _label(labels, MIN_LABEL, DEFAULT_MIN)


async def alert(request: Request) -> Response:
    namespace = await owner_namespace(request)
    try:
        body, _ = await read_json_object(request, _BODY_MAX)
    except BadRequest:
        return text_error("Unable to parse alert, bad format.", 400)
    alerts = body.get("alerts") or []
    if not isinstance(alerts, list):
        return text_error("Unable to parse alert, bad format.", 400)
    sluice = engine(request)
    for item in alerts:
        labels = item.get("labels") if isinstance(item, dict) else None
        text = labels.get("function_name") if isinstance(labels, dict) else None
        if not isinstance(text, str) or not text:
            continue
        try:
            name = function_name(text, namespace)
            action = await sluice.actions.get(namespace, name)
        except (NotFound, BadRequest):
            continue  # the gateway skips what it cannot find
        doc = action.doc
        wanted = next_replicas(str(item.get("status", "")), replicas_of(doc), labels_of(doc))
        await set_replicas(request, namespace, name, wanted)
    return Response(status_code=200)
