"""Who is signed in to the dashboard: the namespace its session cookie names."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sluice.errors import AuthenticationMissing, BadRequest, Forbidden, Unauthenticated
from sluice.http.auth import check_key
from sluice.http.context import engine
from sluice.http.responses import JSON
from sluice.records import Namespace
from sluice.ui import session

#: what the dashboard's own requests carry on every change: a page on another site cannot
#: send it without a CORS preflight, which Sluice does not grant for /ui
CSRF_HEADER = "x-sluice-ui"


async def signed_in(request: Request) -> Namespace:
    """The session's namespace; 401 without a valid session (expired, forged, or its
    namespace's key rotated or the namespace deleted since)."""
    token = request.cookies.get(session.COOKIE)
    if not token:
        raise AuthenticationMissing()
    sluice = engine(request)
    found = session.read(token, sluice.namespaces.platform_secret)
    if found is None:
        raise Unauthenticated()
    uuid, generation = found
    namespace = await sluice.store.namespace_by_uuid(uuid)
    if namespace is None or namespace.generation != generation:
        raise Unauthenticated()
    return namespace


def check_origin(request: Request) -> None:
    """Changes come from the dashboard's own script only (see CSRF_HEADER)."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden("The dashboard's requests carry X-Sluice-UI: 1.")


async def sign_in(request: Request) -> Response:
    """POST {"key": "uuid:secret"}: the key goes in the body, never the URL."""
    check_origin(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequest('The body must be JSON: {"key": "uuid:secret"}.') from exc
    key = body.get("key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise BadRequest("The body must give the namespace key as 'key'.")
    sluice = engine(request)
    namespace = await check_key(request, sluice.namespaces, key.strip())
    if namespace is None:
        raise Unauthenticated()
    answer = JSON({"namespace": namespace.name})
    answer.set_cookie(
        session.COOKIE,
        session.issue(namespace, sluice.namespaces.platform_secret),
        max_age=session.LIFETIME_MS // 1000,
        path="/ui",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return answer


async def whoami(request: Request) -> Response:
    return JSON({"namespace": (await signed_in(request)).name})


async def sign_out(request: Request) -> Response:
    check_origin(request)
    answer = Response(status_code=204)
    answer.delete_cookie(session.COOKIE, path="/ui", httponly=True, samesite="strict")
    return answer
