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
from sluice.dialects.openfaas.system import own_namespace
from sluice.engine.functions import REPLICAS, function_of, is_count
from sluice.errors import BadRequest, NotFound
from sluice.http.body import read_json_object
from sluice.http.context import engine

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
    function = function_of(action)
    if replicas_of(function) != replicas:
        kept = [{"key": k, "value": v} for k, v in function.annotations.items() if k != REPLICAS]
        body = {"annotations": [*kept, {"key": REPLICAS, "value": replicas}]}
        await sluice.actions.put(namespace, name, body, overwrite=True)
    if replicas == 0:
        sluice.drop_warm(namespace, name)


async def scale_function(request: Request) -> Response:
    namespace = await owner_namespace(request)
    own_namespace(request.query_params.get("namespace"), namespace)
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


def _strings(value: Any, keys: tuple[str, ...]) -> bool:
    """An object (or null) whose `keys` are strings where present, as Go decodes it."""
    if value is None:
        return True
    return isinstance(value, dict) and all(
        value.get(key) is None or isinstance(value[key], str) for key in keys
    )


def _well_formed(body: dict[str, Any]) -> bool:
    """What the gateway's decoding of a PrometheusAlert accepts."""
    alerts = body.get("alerts")
    if not _strings(body, ("status", "receiver")):
        return False
    if alerts is not None and not isinstance(alerts, list):
        return False
    return all(
        _strings(item, ("status",))
        and _strings((item or {}).get("labels"), ("alertname", "function_name"))
        for item in alerts or []
    )


async def alert(request: Request) -> Response:
    namespace = await owner_namespace(request)
    try:
        body, _ = await read_json_object(request, _BODY_MAX)
    except BadRequest:
        return text_error("Unable to parse alert, bad format.", 400)
    if not _well_formed(body):
        return text_error("Unable to parse alert, bad format.", 400)
    sluice = engine(request)
    for item in body.get("alerts") or []:
        if not isinstance(item, dict):
            continue
        text = (item.get("labels") or {}).get("function_name")
        if not text:
            continue
        try:
            name = function_name(text, namespace)
            action = await sluice.actions.get(namespace, name)
        except (NotFound, BadRequest):
            continue  # the gateway skips what it cannot find
        function = function_of(action)
        status = str(item.get("status", ""))
        wanted = next_replicas(status, replicas_of(function), labels_of(function))
        await set_replicas(request, namespace, name, wanted)
    return Response(status_code=200)
