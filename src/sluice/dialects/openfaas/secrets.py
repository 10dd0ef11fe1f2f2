"""/system/secrets as OpenFaaS's providers serve it (faas-netes): GET lists names, POST
creates, PUT replaces, DELETE removes, each with the namespace's key; a value is never
returned. Each namespace has its own secrets: the caller's key picks the namespace, and a
`namespace` (query on GET, field in the body otherwise) naming another one is a 400."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice.engine.secrets import VALUE_MAX_BYTES, check_name
from sluice.errors import BadRequest
from sluice.http.auth import authenticate
from sluice.http.body import read_json_object
from sluice.http.context import engine
from sluice.http.responses import JSON

#: a body holds one value (base64 of it, for rawValue) and a name
_BODY_MAX = VALUE_MAX_BYTES * 2 + 64 * 1024


def _namespace(requested: Any, own: str) -> None:
    if requested in (None, "", own):
        return
    raise BadRequest(f"namespace {str(requested)[:80]} is not allowed")


def _value(body: dict[str, Any]) -> bytes:
    """`rawValue` (base64) when given, else `value`, as faas-netes reads them."""
    raw = body.get("rawValue")
    if raw:
        if not isinstance(raw, str):
            raise BadRequest("The field 'rawValue' must be base64 text.")
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("The field 'rawValue' must be base64 text.") from exc
    value = body.get("value", "")
    if not isinstance(value, str):
        raise BadRequest("The field 'value' must be a string.")
    return value.encode()


async def secrets(request: Request) -> Response:
    sluice = engine(request)
    namespace = (await authenticate(request, sluice.namespaces)).name
    store = sluice.secrets
    if request.method == "GET":
        _namespace(request.query_params.get("namespace"), namespace)
        names = await store.names(namespace)
        return JSON([{"name": name, "namespace": namespace} for name in names])
    body, _ = await read_json_object(request, _BODY_MAX)
    _namespace(body.get("namespace"), namespace)
    name = check_name(body.get("name"))
    if request.method == "POST":
        await store.create(namespace, name, _value(body))
    elif request.method == "PUT":
        await store.replace(namespace, name, _value(body))
    else:
        await store.delete(namespace, name)
    return Response(status_code=202)
