"""OpenWhisk's request conventions: the caller's namespace beside the one a path names, and
integer, boolean and skip/limit query parameters (http/context.py has what every dialect
starts with)."""

from __future__ import annotations

from starlette.requests import Request

from sluice.errors import BadRequest
from sluice.http.auth import authenticate
from sluice.http.context import engine
from sluice.numbers import INT64_MAX, signed_integer


async def caller_and_target(request: Request) -> tuple[str, str]:
    """The caller's namespace and the one the path names, for reads that another namespace's
    published packages allow (the engine decides)."""
    caller = await authenticate(request, engine(request).namespaces)
    requested = request.path_params["ns"]
    return caller.name, caller.name if requested == "_" else requested


def query_int(
    request: Request, name: str, default: int, low: int = 0, high: int = INT64_MAX
) -> int:
    """An integer query parameter in low..high; past the store's integers it is a 400 as
    upstream's (its Scala Long), not a driver's overflow."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    value = signed_integer(text)
    if value is None:
        raise BadRequest(f"The query parameter '{name}' must be an integer.")
    if not low <= value <= high:
        raise BadRequest(f"The query parameter '{name}' must be between {low} and {high}.")
    return value


def query_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() in ("true", "1", "yes")


def list_window(request: Request) -> tuple[int, int]:
    """OpenWhisk's skip/limit: limit defaults to 30, 0 means the maximum of 200."""
    skip = query_int(request, "skip", 0)
    limit = query_int(request, "limit", 30, 0, 200)
    return skip, (200 if limit == 0 else limit)
