"""A web request as a function's parameters, as OpenWhisk's web actions are given it
(OpenFaaS's /function routes map requests the same way)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from sluice.answers import is_text
from sluice.engine.resolve import Target
from sluice.envelope import Body
from sluice.errors import BadRequest
from sluice.http.auth import request_carries_key
from sluice.http.body import parse_json, read_body
from sluice.http.headers import first_values

_NOT_ALLOWED = "Request defines parameters that are not allowed (e.g., reserved properties)."


async def request_parts(
    request: Request, raw: bool, limit: int
) -> tuple[dict[str, Any], Body | None, int]:
    """A web request as an action's parameters (`raw`: body and query untouched) but for
    the body when `__ow_body` carries it (given as a Body, to be encoded as late as may
    be), and the body's size. An Authorization header holding a Sluice key is left out:
    parameters are stored."""
    body = await read_body(request, limit)
    content_type = first_values(request).get("content-type", "").split(";")[0].strip().lower()
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "authorization" in headers and request_carries_key(request):
        del headers["authorization"]
    params: dict[str, Any] = {
        "__ow_method": request.method.lower(),
        "__ow_headers": headers,
        "__ow_path": "",
    }
    if raw:
        params["__ow_query"] = request.url.query
        text = is_text(content_type) and content_type != "application/json"
        return params, Body(body, "text" if text else "base64"), len(body)
    merged: dict[str, Any] = dict(request.query_params)
    carried = None
    if body:
        if content_type == "application/json" or content_type.endswith("+json"):
            value = parse_json(body)
            if isinstance(value, dict):
                merged.update(value)
            else:
                carried = Body(body, "text")  # UTF-8: the JSON parsed
        elif content_type == "application/x-www-form-urlencoded":
            merged.update(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
        else:
            carried = Body(body, "text" if is_text(content_type) else "base64")
    if any(key.startswith("__ow_") for key in merged):
        raise BadRequest(_NOT_ALLOWED)
    return {**merged, **params}, carried, len(body)


def check_final(target: Target, params: dict[str, Any]) -> None:
    """An action annotated `final` refuses request parameters that its own define."""
    function = target.function
    if not function.flag("final"):
        return
    defined = {**target.package_params, **function.defaults}
    if any(key in defined and defined[key] is not None for key in params):
        raise BadRequest(_NOT_ALLOWED)
