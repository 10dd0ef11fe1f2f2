"""Who is calling: a namespace key in HTTP Basic (OpenWhisk clients) or as a Bearer token
(the aio CLI's deploy-service path). Wrong keys are counted per client address
(http/throttle.py)."""

from __future__ import annotations

import base64

from starlette.requests import Request

from sluice.engine.keys import Key
from sluice.engine.namespaces import Namespaces
from sluice.errors import AuthenticationMissing, Forbidden, Unauthenticated
from sluice.http.headers import first_values
from sluice.http.throttle import KeyFailures
from sluice.records import Namespace

_CREDENTIALS = "sluice.credentials"


def credentials(request: Request) -> str | None:
    """header_credentials of the request's Authorization header, decoded once per request
    (an OpenFaaS invoke asks twice: whether it carries a key, and whose it is)."""
    scope = request.scope
    if _CREDENTIALS in scope:
        known: str | None = scope[_CREDENTIALS]
        return known
    text = scope[_CREDENTIALS] = header_credentials(first_values(request).get("authorization"))
    return text


def header_credentials(header: str | None) -> str | None:
    """The key an Authorization header gives: None without one, "" when it gives none."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value, validate=True).decode()
        except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text
            return ""
    if scheme.lower() == "bearer":
        return value
    return ""


def carries_key(header: str | None) -> bool:
    """Whether an Authorization header holds something shaped like a Sluice key (right or
    wrong, of any namespace): such a header is never handed to a function or stored."""
    text = header_credentials(header)
    return bool(text) and Key.parse(text or "") is not None


_CARRIES_KEY = "sluice.carries_key"


def request_carries_key(request: Request) -> bool:
    """carries_key of the request's Authorization header, worked out once per request
    (an invoke asks three times: to check it, to keep it from the function, from storage)."""
    scope = request.scope
    known: bool | None = scope.get(_CARRIES_KEY)
    if known is None:
        text = credentials(request)
        known = scope[_CARRIES_KEY] = bool(text) and Key.parse(text or "") is not None
    return known


async def check_key(request: Request, namespaces: Namespaces, text: str) -> Namespace | None:
    """The namespace whose key `text` is; None (counted against the client's address) when
    it is none's. Past the address's allowance a wrong key raises TooManyRequests instead."""
    namespace = await namespaces.authenticate(text)
    if namespace is None:
        failures: KeyFailures = request.app.state.key_failures
        failures.failed(request.client.host if request.client else None)
    return namespace


async def authenticate(request: Request, namespaces: Namespaces) -> Namespace:
    text = credentials(request)
    if text is None:
        raise AuthenticationMissing()
    namespace = await check_key(request, namespaces, text)
    if namespace is None:
        raise Unauthenticated()
    return namespace


def resolve_namespace(caller: Namespace, requested: str) -> str:
    """`_` is the caller's own namespace; any other namespace but the caller's is refused."""
    if requested in ("_", caller.name):
        return caller.name
    raise Forbidden()
