"""Web actions: /api/v1/web/{namespace}/{package|default}/{action}[.ext][/path], any method,
no API key unless the action asks for one. The request becomes parameters; the result
becomes the HTTP response (see the reference's section 6)."""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.answers import web_answer
from sluice.call_meta import CallMeta
from sluice.dialects.openwhisk.errors import error_body
from sluice.engine.calls import CallOptions
from sluice.engine.resolve import Target, resolve_action
from sluice.errors import BadRequest, NotFound, Unauthenticated
from sluice.http.auth import check_key, credentials
from sluice.http.context import engine
from sluice.http.params import check_final, request_parts
from sluice.http.responses import JSON
from sluice.http.tracing import caller_trace
from sluice.ids import new_transaction_id
from sluice.records import Call, CallState

EXTENSIONS = {".json": "json", ".http": "http", ".html": "html", ".svg": "svg", ".text": "text"}
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH",
}
_DEFAULT_ALLOW_HEADERS = "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"


def split_action(rest: str) -> tuple[str, str, str]:
    """(action name, extension, extra path) from what follows the package segment."""
    first, slash, extra = rest.partition("/")
    for ext, kind in EXTENSIONS.items():
        if first.endswith(ext) and len(first) > len(ext):
            return first[: -len(ext)], kind, slash + extra
    return first, "http", slash + extra


async def _check_auth(request: Request, target: Target, namespace: str) -> str | None:
    """Enforce `require-whisk-auth`; returns the authenticated namespace, if any."""
    required = target.function.annotation("require-whisk-auth", False)
    if required is False or required is None:
        return None
    if required is True:
        text = credentials(request)
        caller = await check_key(request, engine(request).namespaces, text) if text else None
        if caller is None or caller.name != namespace:
            raise _WebAuthFailed()
        return caller.name
    given = request.headers.get("x-require-whisk-auth", "")
    if not hmac.compare_digest(given.encode(), str(required).encode()):
        raise _WebAuthFailed()
    return None


class _WebAuthFailed(Unauthenticated):
    """Authentication is possible but has failed or not yet been provided."""


async def request_params(request: Request, raw: bool, limit: int) -> tuple[dict[str, Any], int]:
    """A web request as an action's parameters, body and all, and the body's size."""
    params, body, size = await request_parts(request, raw, limit)
    return ({**params, **body.params()} if body is not None else params), size


def _project(result: Any, path: str) -> Any:
    for part in [p for p in path.split("/") if p]:
        if not isinstance(result, dict) or part not in result:
            raise NotFound(f"Property '{part}' not found in the result.")
        result = result[part]
    return result


def _cors(request: Request, target: Target) -> dict[str, str]:
    if target.function.flag("web-custom-options"):
        return {}
    asked = request.headers.get("access-control-request-headers")
    return {**_CORS, "Access-Control-Allow-Headers": asked or _DEFAULT_ALLOW_HEADERS}


def _http_response(result: Any, headers: dict[str, str]) -> Response:
    answer = web_answer(result)
    if answer is None:
        return _error(400, "Response is not valid 'message/http'.", headers)
    response = Response(answer.body, answer.status, media_type=answer.content_type)
    for name, value in headers.items():
        response.headers[name] = value
    response.raw_headers.extend((k.encode(), v.encode()) for k, v in answer.forwardable())
    return response


def _text_response(result: Any, kind: str, headers: dict[str, str]) -> Response:
    media = {"html": "text/html", "svg": "image/svg+xml", "text": "text/plain"}[kind]
    value = None
    if isinstance(result, dict):
        value = result.get("body", result.get(kind))
    if kind == "text" and value is not None and not isinstance(value, str):
        value = orjson.dumps(value).decode()
    if not isinstance(value, str):
        return _error(400, f"Response is not valid '{media}'.", headers)
    return Response(value, 200, media_type=media, headers=headers)


def _error(status: int, message: str, headers: dict[str, str]) -> Response:
    return JSON(error_body(message), status_code=status, headers=headers)


def _respond(call: Call, kind: str, extra_path: str, headers: dict[str, str]) -> Response:
    result: Any = (call.record or {}).get("result", {})
    if call.state is CallState.APPLICATION_ERROR and isinstance(result, dict):
        result = result.get("error", result)
    elif call.state is not CallState.SUCCESS:
        return _error(400, "There was an error processing your request.", headers)
    if kind == "json":
        projected = _project(result, extra_path)
        if not isinstance(projected, dict | list):
            return Response(
                orjson.dumps(projected), 200, media_type="application/json", headers=headers
            )
        return JSON(projected, headers=headers)
    if kind == "http":
        return _http_response(result, headers)
    return _text_response(result, kind, headers)


async def web_action(request: Request) -> Response:
    name, kind, extra_path = split_action(request.path_params["rest"])
    namespace, package = request.path_params["ns"], request.path_params["pkg"]
    return await serve(request, namespace, package, name, kind, extra_path)


async def serve(
    request: Request,
    namespace: str,
    package: str,
    name: str,
    kind: str,
    extra_path: str,
    route_params: dict[str, str] | None = None,
) -> Response:
    """Run the web action `namespace/package/name` for this request and answer with its
    result as `kind`; `route_params` (an API route's path parameters) join the request's."""
    sluice = engine(request)
    path = name if package == "default" else f"{package}/{name}"
    try:
        target = await resolve_action(sluice.store, sluice.packages, namespace, namespace, path)
    except (NotFound, BadRequest) as exc:
        raise NotFound() from exc
    if not target.function.flag("web-export"):
        raise NotFound()
    headers = _cors(request, target)
    if request.method == "OPTIONS" and headers:
        return Response(status_code=200, headers=headers)
    user = await _check_auth(request, target, namespace)
    raw = target.function.flag("raw-http")
    params, size = await request_params(request, raw, sluice.settings.request_max_bytes)
    params["__ow_path"] = extra_path
    if route_params:  # the route's own template names them: they win over the request's
        params = {**params, **route_params}
    if user is not None:
        params["__ow_user"] = user
    check_final(target, {k: v for k, v in params.items() if not k.startswith("__ow_")})
    meta = CallMeta(
        dialect="openwhisk", subject=user or namespace, transid=new_transaction_id(), web=True
    )
    wait_ms = sluice.settings.blocking_wait_ms
    options = CallOptions(trace=caller_trace(request))
    accepted = await sluice.calls.invoke(
        namespace, namespace, path, params, size, meta, wait_ms, options
    )
    headers["x-openwhisk-activation-id"] = accepted.id.hex
    if accepted.call is None:
        return JSON({"activationId": accepted.id.hex}, status_code=202, headers=headers)
    return _respond(accepted.call, kind, extra_path if kind == "json" else "", headers)


def routes() -> list[BaseRoute]:
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    return [Route("/api/v1/web/{ns}/{pkg}/{rest:path}", web_action, methods=methods)]
