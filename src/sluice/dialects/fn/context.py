"""What every Fn handler starts with: the caller, checked against the Fn namespace, Fn's
apps and routes, and Fn's request conventions (wrapped bodies, cursors)."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Protocol

from starlette.requests import Request

from sluice.dialects.fn.model import Apps
from sluice.errors import BadRequest, Forbidden
from sluice.http.auth import authenticate
from sluice.http.body import read_json_object
from sluice.http.context import Services, engine
from sluice.numbers import INT64_MAX, whole_number

#: apps and routes are small JSON; a route carries its code (a zip of its source)
BODY_MAX_BYTES = 48 * 1024 * 1024
PER_PAGE_DEFAULT = 30
PER_PAGE_MAX = 100


class FnServices(Services, Protocol):
    """What the Fn handlers read besides the shared facade: Fn's own apps and routes, built
    once by the composition root (wiring.py's Sluice is one; asgi.py checks it)."""

    @property
    def fn_apps(self) -> Apps: ...


def fn_apps(request: Request) -> Apps:
    """Fn's apps and routes, as the composition root built them."""
    services: FnServices = request.app.state.sluice
    return services.fn_apps


async def fn_namespace(request: Request) -> str:
    """The Fn namespace, once the caller's key is shown to be its key."""
    sluice = engine(request)
    caller = await authenticate(request, sluice.namespaces)
    if caller.name != sluice.settings.fn_namespace:
        raise Forbidden(
            f"Fn apps live in the namespace '{sluice.settings.fn_namespace}': use its key."
        )
    return caller.name


async def wrapped(request: Request, key: str) -> dict[str, Any]:
    """The object under `key` of a body like {"app": {...}}."""
    body, _ = await read_json_object(request, BODY_MAX_BYTES)
    inner = body.get(key)
    if not isinstance(inner, dict):
        raise BadRequest(f'Invalid request body: expected {{"{key}": {{...}}}}.')
    return inner


def per_page(request: Request) -> int:
    text = request.query_params.get("per_page") or ""
    if not text:
        return PER_PAGE_DEFAULT
    value = whole_number(text)
    if value is None or not 1 <= value <= PER_PAGE_MAX:
        raise BadRequest(f"Invalid per_page '{text[:20]}': use 1 to {PER_PAGE_MAX}.")
    return value


def offset_cursor(request: Request) -> int:
    """A list's position from `cursor` (an opaque offset)."""
    text = request.query_params.get("cursor") or ""
    if not text:
        return 0
    try:
        offset = whole_number(base64.urlsafe_b64decode(text.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = None
    if offset is None or offset > INT64_MAX:
        raise BadRequest(f"Invalid cursor '{text[:40]}'.")
    return offset


def next_offset_cursor(skip: int, found: int, limit: int) -> str:
    if found < limit:
        return ""
    return base64.urlsafe_b64encode(str(skip + found).encode()).decode()
