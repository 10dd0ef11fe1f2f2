"""`/whisk.system/apimgmt/createApi|getApi|deleteApi`: upstream's API management actions,
built in. Clients call them as web actions (`/api/v1/web/whisk.system/apimgmt/createApi`,
with the caller's key: the openwhisk npm client, hence the aio CLI; `wsk` adds `.http`) or
as actions (`POST .../namespaces/whisk.system/actions/apimgmt/createApi?blocking=true`).
They answer what upstream's actions answer: the API as the CLI shows it, or an error
(a web call: 502 `{"error"}`; an action call: an activation whose result is the error)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.dialects.openwhisk.context import query_bool
from sluice.engine.apis import ApiFailure, Endpoint
from sluice.errors import BadRequest
from sluice.http.auth import authenticate
from sluice.http.body import parse_json, read_body
from sluice.http.context import engine
from sluice.http.responses import JSON
from sluice.ids import CallId
from sluice.records import Entity, Namespace

SYSTEM = "whisk.system"
PACKAGE = "apimgmt"
#: API documents are small; a swagger file of a large API still fits
APIDOC_MAX_BYTES = 1024 * 1024
_FAILURE = {
    "createApi": "API creation failure: ",
    "getApi": "API GW failure: ",
    "deleteApi": "API deletion failure: ",
}

Operation = Callable[[Request, Namespace, dict[str, Any]], Awaitable[Any]]


def gateway_url(request: Request, caller: Namespace, basepath: str) -> str:
    """The URL an API is served under (upstream's `gwApiUrl`): the namespace's gateway
    prefix on this server, then the base path."""
    base = str(request.base_url).rstrip("/")
    return f"{base}/api/{caller.uuid}{'' if basepath == '/' else basepath}"


def _cli_api(request: Request, caller: Namespace, entity: Entity) -> dict[str, Any]:
    return {
        "namespace": "Not Used",
        "gwApiActivated": True,
        "tenantId": "Not Used",
        "gwApiUrl": gateway_url(request, caller, entity.name),
        "apidoc": entity.doc["swagger"],
    }


def _json_field(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return parse_json(value.encode())  # the body's depth limit holds for it too
        except BadRequest:
            raise ApiFailure(f"{name} field cannot be parsed. Ensure it is valid JSON.") from None
    return value


def _text(doc: dict[str, Any], key: str, what: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise ApiFailure(f"{what} is missing the {key} field.")
    return value


def _backend_host(request: Request, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return str(request.base_url).rstrip("/")


def _endpoint(
    request: Request, caller: str, doc: dict[str, Any], params: dict[str, Any]
) -> Endpoint:
    for key in ("gatewayBasePath", "gatewayPath", "gatewayMethod"):
        _text(doc, key, "apidoc")
    action = doc.get("action")
    if not isinstance(action, dict):
        raise ApiFailure("apidoc is missing the action field.")
    for key in ("backendMethod", "backendUrl", "namespace", "name"):
        _text(action, key, "action")
    # the caller's own namespace stands for the placeholder the client sends ("_")
    owner = doc.get("namespace")
    namespace = caller if action["namespace"] in ("_", owner) else action["namespace"]
    name = action["name"].lstrip("/")
    if name.count("/") > 1:  # "/ns/pkg/name" given whole
        namespace, _, name = name.partition("/")
    response_type = params.get("responsetype") or "json"
    if not isinstance(response_type, str):
        raise ApiFailure("responsetype must be a string.")
    api_name = doc.get("apiName")
    return Endpoint(
        basepath=doc["gatewayBasePath"],
        relpath=doc["gatewayPath"],
        verb=doc["gatewayMethod"],
        action_namespace=namespace,
        action=name,
        response_type=response_type,
        backend_host=_backend_host(request, action["backendUrl"]),
        api_name=api_name if isinstance(api_name, str) and api_name else None,
    )


async def create_api(request: Request, caller: Namespace, params: dict[str, Any]) -> Any:
    if "apidoc" not in params or not params["apidoc"]:
        raise ApiFailure("apidoc is required.")
    doc = _json_field(params["apidoc"], "apidoc")
    if not isinstance(doc, dict):
        raise ApiFailure("apidoc field should be a JSON object or a JSON string.")
    if not doc.get("namespace"):
        raise ApiFailure("apidoc is missing the namespace field")
    apis = engine(request).apis
    if doc.get("swagger"):
        if doc.get("gatewayBasePath"):
            raise ApiFailure(
                "swagger and gatewayBasePath are mutually exclusive and cannot be specified"
                " together."
            )
        entity = await apis.replace(caller.name, _json_field(doc["swagger"], "swagger"))
    else:
        entity = await apis.add(caller.name, _endpoint(request, caller.name, doc, params))
    return _cli_api(request, caller, entity)


async def get_api(request: Request, caller: Namespace, params: dict[str, Any]) -> Any:
    basepath = params.get("basepath")
    if basepath is not None and not isinstance(basepath, str):
        raise ApiFailure("basepath must be a string.")
    # upstream's getApi filters by base path or name only (relpath, operation, skip and
    # limit, which clients send, it ignores)
    found = await engine(request).apis.find(caller.name, basepath or None)
    return {
        "apis": [
            {"id": "Not Used", "key": "Not Used", "value": _cli_api(request, caller, e)}
            for e in found
        ]
    }


async def delete_api(request: Request, caller: Namespace, params: dict[str, Any]) -> Any:
    basepath = params.get("basepath")
    if not isinstance(basepath, str) or not basepath:
        raise ApiFailure("basepath is required.")
    relpath, verb = params.get("relpath") or None, params.get("operation") or None
    if not isinstance(relpath, str | None) or not isinstance(verb, str | None):
        raise ApiFailure("relpath and operation must be strings.")
    await engine(request).apis.remove(caller.name, basepath, relpath, verb)
    return {}


OPERATIONS: dict[str, Operation] = {
    "createApi": create_api,
    "getApi": get_api,
    "deleteApi": delete_api,
}


def _operation(request: Request) -> tuple[str, Operation]:
    name = request.path_params["op"]
    for ext in (".http", ".json"):
        name = name.removesuffix(ext)
    if name not in OPERATIONS:
        raise _NoSuchAction()
    return name, OPERATIONS[name]


class _NoSuchAction(BadRequest):
    pass


async def _params(request: Request, web: bool) -> dict[str, Any]:
    raw = await read_body(request, APIDOC_MAX_BYTES)
    body = parse_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise BadRequest("The request content must be a JSON object.")
    # the npm client puts each option it was given in the query, unset ones as the text
    # "undefined" (aio passes relpath, operation, skip and limit unset): they are absent
    query = {k: v for k, v in request.query_params.items() if v != "undefined"} if web else {}
    return {**query, **body}


async def _run(request: Request, web: bool) -> tuple[str, Any, bool]:
    """(operation, its answer or error message, whether it succeeded)."""
    caller = await authenticate(request, engine(request).namespaces)
    name, operation = _operation(request)
    params = await _params(request, web)
    try:
        return name, await operation(request, caller, params), True
    except ApiFailure as exc:
        return name, _FAILURE[name] + exc.message, False


async def web_call(request: Request) -> Response:
    try:
        _, answer, ok = await _run(request, web=True)
    except _NoSuchAction:
        return JSON({"error": "The requested resource does not exist."}, status_code=404)
    return JSON(answer if ok else {"error": answer}, status_code=200 if ok else 502)


async def action_call(request: Request) -> Response:
    """The action route: an activation-shaped answer (Sluice keeps no record of it)."""
    start = int(time.time() * 1000)
    try:
        name, answer, ok = await _run(request, web=False)
    except _NoSuchAction:
        return JSON({"error": "The requested resource does not exist."}, status_code=404)
    call_id = CallId.new().hex
    headers = {"x-openwhisk-activation-id": call_id}
    if not query_bool(request, "blocking"):
        return JSON({"activationId": call_id}, status_code=202, headers=headers)
    result = answer if ok else {"error": answer}
    if query_bool(request, "result"):
        return JSON(result, status_code=200 if ok else 502, headers=headers)
    end = int(time.time() * 1000)
    activation = {
        "namespace": request.path_params.get("ns", SYSTEM),
        "name": name,
        "version": "0.0.1",
        "subject": SYSTEM,
        "activationId": call_id,
        "start": start,
        "end": end,
        "duration": end - start,
        "publish": False,
        "response": {
            "result": result,
            "success": ok,
            "status": "success" if ok else "application error",
        },
        "logs": [],
        "annotations": [{"key": "path", "value": f"{SYSTEM}/{PACKAGE}/{name}"}],
    }
    return JSON(activation, status_code=200 if ok else 502, headers=headers)


def routes(prefix: str) -> list[BaseRoute]:
    """Placed before the generic web and action routes, which they shadow."""
    methods = ["GET", "POST", "PUT", "DELETE"]
    return [
        Route(f"{prefix}/web/{SYSTEM}/{PACKAGE}/{{op}}", web_call, methods=methods),
        Route(
            f"{prefix}/namespaces/{SYSTEM}/actions/{PACKAGE}/{{op}}", action_call, methods=["POST"]
        ),
    ]
