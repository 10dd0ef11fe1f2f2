"""Who is calling: a namespace key in HTTP Basic (OpenWhisk clients) or as a Bearer token
(the aio CLI's deploy-service path)."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from sluice.engine.namespaces import Namespaces
from sluice.errors import AuthenticationMissing, Forbidden, Unauthenticated
from sluice.records import Namespace


def credentials(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
    if scheme.lower() == "bearer":
        return value
    return ""


async def authenticate(request: Request, namespaces: Namespaces) -> Namespace:
    text = credentials(request)
    if text is None:
        raise AuthenticationMissing()
    namespace = await namespaces.authenticate(text)
    if namespace is None:
        raise Unauthenticated()
    return namespace


def resolve_namespace(caller: Namespace, requested: str) -> str:
    """`_` is the caller's own namespace; any other namespace but the caller's is refused."""
    if requested in ("_", caller.name):
        return caller.name
    raise Forbidden()
