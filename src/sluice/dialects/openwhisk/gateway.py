"""The API gateway's own URLs: `/api/{namespace uuid}/{base path}/{path}`, any verb, no key.
A route runs its web action as the web action URL would (so a route to an action that is
not web-exported answers as that URL does: 404)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.dialects.openwhisk import web
from sluice.dialects.openwhisk.errors import error_body
from sluice.engine.apis import RouteMiss
from sluice.errors import NotFound
from sluice.http.context import engine
from sluice.http.responses import JSON

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


async def gateway_call(request: Request) -> Response:
    sluice = engine(request)
    owner = await sluice.store.namespace_by_uuid(str(request.path_params["api_id"]))
    if owner is None:
        raise NotFound()
    path = "/" + request.path_params["path"]
    target = await sluice.apis.route(owner.name, path, request.method)
    if isinstance(target, RouteMiss):
        if target.allowed:
            return JSON(
                error_body(f"The method {request.method} is not allowed for this path."),
                status_code=405,
                headers={"Allow": ", ".join(target.allowed)},
            )
        raise NotFound()
    return await web.serve(
        request,
        target.namespace,
        target.package,
        target.action,
        target.response_type,
        "",
        target.path_params,
    )


def routes() -> list[BaseRoute]:
    """Only a uuid is a namespace id: `/api/v1/...` with a method its route lacks must still
    answer that route's 405, not fall through to here."""
    return [Route("/api/{api_id:uuid}/{path:path}", gateway_call, methods=_METHODS)]
