"""/v1/apps/{app}/calls: an app's calls, newest first, each from the moment it is accepted,
their logs, and cancelling one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sluice.dialects.fn import wire
from sluice.dialects.fn.context import fn_apps, fn_namespace, per_page
from sluice.dialects.fn.errors import FnJSON, error
from sluice.dialects.fn.fields import check_path, route_name
from sluice.errors import BadRequest, NotFound
from sluice.http.context import engine, wait_seconds
from sluice.ids import CallId
from sluice.numbers import INT64_MAX, whole_number
from sluice.records import Call
from sluice.store.base import CallFilter


def _seconds(request: Request, name: str) -> int | None:
    """Unix seconds as epoch ms, within what the store's integers hold."""
    text = request.query_params.get(name) or ""
    if not text:
        return None
    seconds = whole_number(text)
    if seconds is None or seconds > INT64_MAX // 1000 - 1:
        raise BadRequest(f"Invalid {name} '{text[:40]}': use Unix seconds.")
    return seconds * 1000


def _call_id(text: str) -> CallId:
    found = CallId.parse(text)
    if found is None:
        raise BadRequest(
            f"Invalid call id '{text[:60]}': use the 26-character id a call answered with."
        )
    return found


def _cursor(request: Request) -> CallId | None:
    text = request.query_params.get("cursor") or ""
    return _call_id(text) if text else None


async def list_calls(request: Request) -> Response:
    app = (await fn_apps(request).get_app(request.path_params["app"])).name
    found, cursor = await call_page(request, app, request.query_params.get("path") or None)
    return FnJSON(
        {
            "message": "Successfully listed calls",
            "next_cursor": cursor,
            "calls": [wire.call(c) for c in found],
        }
    )


async def call_page(request: Request, app: str, path: str | None) -> tuple[list[Call], str]:
    """A page of the calls of `app` (of its route at `path`), newest first, with the
    cursor of the next page ("" at the end); filters and cursor from the query."""
    namespace = await fn_namespace(request)
    sluice = engine(request)
    limit = per_page(request)
    upto = _seconds(request, "to_time")
    query = CallFilter(
        namespace,
        path=f"{app}/{route_name(check_path(path))}" if path else None,
        prefix=None if path else f"{app}/",
        since=_seconds(request, "from_time"),
        upto=upto + 999 if upto is not None else None,
        terminal_only=False,
        limit=limit,
        before=_cursor(request),
    )
    found = await sluice.calls.page(query)
    cursor = found[-1].id.ulid if len(found) == limit else ""
    return found, cursor


async def _app_call(request: Request) -> Call:
    return await app_call(request, request.path_params["app"], request.path_params["call"])


async def app_call(request: Request, app: str, text: str, action: str | None = None) -> Call:
    """Call `text`, if it belongs to `app` (and is one of `action`, `app/name`); with
    `?wait=S`, held until it ends or S seconds pass."""
    namespace = await fn_namespace(request)
    call_id = _call_id(text)
    try:
        call = await engine(request).calls.wait(namespace, call_id, wait_seconds(request))
    except NotFound:
        raise NotFound("Call not found") from None
    if wire.call_app(call) != app or action not in (None, call.path):
        raise NotFound("Call not found")
    return call


async def cancel_call(request: Request) -> Response:
    """DELETE (Sluice's own; Fn's v1 had the status but no way to reach it): a queued call
    ends as `cancelled` at once, a running one once its process is stopped. 409 if it has
    ended already."""
    call = await _app_call(request)
    await engine(request).cancellation.call(call.namespace, call.id)
    return FnJSON({"message": "Call cancelled", "call_id": call.id.ulid}, status_code=202)


async def get_call(request: Request) -> Response:
    call = await _app_call(request)
    return FnJSON({"message": "Successfully loaded call", "call": wire.call(call)})


async def get_log(request: Request) -> Response:
    return log_answer(request, await _app_call(request))


def log_answer(request: Request, call: Call) -> Response:
    """The call's log as JSON or, when Accept asks for text/plain, as text."""
    accept = request.headers.get("accept", "")
    as_text = "text/plain" in accept
    if (
        not as_text
        and accept
        and not any(kind in accept for kind in ("application/json", "*/*", "application/*"))
    ):
        return error("Not acceptable: the log is text/plain or application/json", 406)
    if not call.state.terminal:
        raise NotFound(f"Call log not found: the call is {wire.STATUS[call.state]}")
    text = wire.log_text(call)
    if as_text:
        return PlainTextResponse(text)
    log = {"call_id": call.id.ulid, "app_name": wire.call_app(call), "log": text}
    return FnJSON({"message": "Successfully loaded log", "log": log})
