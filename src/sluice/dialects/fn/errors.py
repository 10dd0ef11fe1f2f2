"""The only code that writes Fn's error shapes: v1's {"error": {"message": "..."}} and
v2's flat {"message": "..."} (v2, /invoke and /t)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sluice import errors
from sluice.http.responses import JSON
from sluice.http.status import retry_headers, status_of

log = logging.getLogger("sluice.http")

_HTTP_MESSAGES = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable"}


class FnJSON(JSON):
    media_type = "application/json; charset=utf-8"


Maker = Callable[[str, int, dict[str, str] | None], Response]


def error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return FnJSON({"error": {"message": message}}, status_code=status, headers=headers)


def v2_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return FnJSON({"message": message}, status_code=status, headers=headers)


def error_response(exc: errors.SluiceError, make: Maker = error) -> Response:
    status = status_of(exc)
    headers = {"Retry-After": "15"} if status == 503 else retry_headers(exc)
    return make(exc.message, status, headers)


Handler = Callable[[Request, Exception], Awaitable[Response]]


def handlers(make: Maker) -> dict[type[Exception], Handler]:
    """Exception handlers that answer in the shape `make` writes."""

    async def on_sluice_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.SluiceError)
        return error_response(exc, make)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return make(message, exc.status_code, dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        known = errors.machine_failure(exc)
        if known is not None:
            log.warning("%s %s: %s (%s)", request.method, request.url.path, known.message, exc)
            return error_response(known, make)
        log.error(
            "unexpected error in an Fn request %s %s",
            request.method,
            request.url.path,
            exc_info=exc,
        )
        return make("Internal server error", 500, None)

    return {
        errors.SluiceError: on_sluice_error,
        HTTPException: on_http_error,
        Exception: on_unexpected,
    }


HANDLERS = handlers(error)
V2_HANDLERS = handlers(v2_error)
