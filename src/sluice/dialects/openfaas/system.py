"""OpenFaaS's /system API (always with the namespace's key): functions deployed, read,
listed and removed, /system/info; and /healthz, open as upstream."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sluice.dialects.openfaas import wire
from sluice.dialects.openfaas.context import function_name, owner_namespace
from sluice.dialects.openfaas.deployment import (
    action_body,
    function_status,
    secret_names,
    service_name,
)
from sluice.engine.functions import REPLICAS, function_of
from sluice.engine.secrets import MissingSecret
from sluice.errors import BadRequest, NotFound
from sluice.http.body import CODE_MAX_BYTES, read_json_object
from sluice.http.context import engine
from sluice.http.responses import JSON
from sluice.ids import CallId
from sluice.records import Call, DeadLetter
from sluice.store.base import CallFilter
from sluice.timing import rfc3339_ms

#: the most functions one listing shows
LIST_MAX = 1000
VERSION = {"release": "0.1.0", "sha": "sluice", "commit_message": "Sluice"}


def own_namespace(requested: object, namespace: str) -> None:
    """A `namespace` the request names must be the one OpenFaaS functions live in."""
    if requested not in (None, "", namespace):
        raise BadRequest(f"namespace must be: {namespace}")


async def list_functions(request: Request) -> Response:
    namespace = await owner_namespace(request)
    own_namespace(request.query_params.get("namespace"), namespace)
    sluice = engine(request)
    found = []
    for action in await sluice.actions.page(namespace, 0, LIST_MAX):
        if "/" in action.name:  # actions in packages are not reachable as functions
            continue
        warm = await sluice.warm_processes(namespace, action.name)
        status = function_status(function_of(action), namespace, warm)
        calls = CallFilter(namespace, path=action.name, terminal_only=False)
        status["invocationCount"] = float(await sluice.calls.count(calls))
        found.append(status)
    return JSON(sorted(found, key=lambda item: item["name"]))


async def get_function(request: Request) -> Response:
    namespace = await owner_namespace(request)
    own_namespace(request.query_params.get("namespace"), namespace)
    name = function_name(request.path_params["name"], namespace)
    sluice = engine(request)
    try:
        action = await sluice.actions.get(namespace, name)
    except (NotFound, BadRequest) as exc:
        raise NotFound(f"function {name} not found") from exc
    warm = await sluice.warm_processes(namespace, name)
    return JSON(function_status(function_of(action), namespace, warm))


async def namespaces(request: Request) -> Response:
    """The one namespace OpenFaaS functions live in (faas-netes CE lists its own alone)."""
    return JSON([await owner_namespace(request)])


async def deploy(request: Request) -> Response:
    """POST creates (409 when it exists), PUT replaces (404 when it does not): 202."""
    namespace = await owner_namespace(request)
    spec, _ = await read_json_object(request, CODE_MAX_BYTES)
    name = service_name(spec)
    own_namespace(spec.get("namespace"), namespace)
    sluice = engine(request)
    try:
        await sluice.secrets.require(namespace, secret_names(spec))
    except MissingSecret as exc:
        raise BadRequest(f"unable to fetch secrets: {exc.message}") from exc
    actions = sluice.actions
    body = action_body(spec, sluice.settings.memory_min_mb)
    if request.method == "PUT":
        try:
            old = await actions.get(namespace, name)
        except NotFound as exc:
            raise NotFound(f"function {name} not found") from exc
        # an update keeps the replicas it was scaled to, as a Deployment's update does
        scaled = function_of(old).annotation(REPLICAS)
        if scaled is not None:
            body["annotations"].append({"key": REPLICAS, "value": scaled})
    await actions.put(namespace, name, body, overwrite=request.method == "PUT")
    return Response(status_code=202)


async def remove(request: Request) -> Response:
    namespace = await owner_namespace(request)
    body, _ = await read_json_object(request, 64 * 1024)
    name = body.get("functionName")
    if not isinstance(name, str) or not name:
        raise BadRequest("The field 'functionName' is required.")
    try:
        await engine(request).actions.delete(namespace, name)
    except (NotFound, BadRequest) as exc:
        raise NotFound(f"function {name} not found") from exc
    return Response(status_code=202)


async def info(request: Request) -> Response:
    await owner_namespace(request)
    provider = {"provider": "sluice", "orchestration": "processes", "version": VERSION}
    return JSON({"provider": provider, "version": VERSION, "arch": "x86_64"})


async def healthz(request: Request) -> Response:
    return PlainTextResponse("OK")


def _dead_letter(letter: DeadLetter, call: Call) -> dict[str, Any]:
    return {
        "callId": letter.id.uuid,
        "function": call.meta.openfaas.function if call.meta.openfaas else call.path,
        "reason": letter.reason,
        "status": call.state.value,
        "attempts": call.attempts,
        "createdAt": rfc3339_ms(call.created),
        "deadAt": rfc3339_ms(letter.created),
    }


async def list_dead_letters(request: Request) -> Response:
    """GET /system/dead-letters[?function=NAME]: newest first."""
    namespace = await owner_namespace(request)
    name = request.query_params.get("function")
    path = function_name(name, namespace) if name else None
    found = await engine(request).dead_letters.list(namespace, path)
    return JSON([_dead_letter(letter, call) for letter, call in found])


async def redrive(request: Request) -> Response:
    """POST /system/dead-letters/{id}/redrive: the call runs again as a new call (202)."""
    namespace = await owner_namespace(request)
    call_id = _call_id(request)
    accepted = await engine(request).dead_letters.redrive(namespace, call_id)
    headers = {"X-Call-Id": accepted.id.uuid, "Location": wire.status_url(accepted.id)}
    return JSON({"callId": accepted.id.uuid}, status_code=202, headers=headers)


async def dismiss(request: Request) -> Response:
    namespace = await owner_namespace(request)
    await engine(request).dead_letters.dismiss(namespace, _call_id(request))
    return Response(status_code=202)


def _call_id(request: Request) -> CallId:
    text = request.path_params["id"]
    call_id = CallId.parse(text)
    if call_id is None:
        raise BadRequest(f"Invalid call id '{text[:60]}'.")
    return call_id
