"""The only code that writes Fn's error shape: {"error": {"message": "..."}}."""

from __future__ import annotations

import logging

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


def error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return FnJSON({"error": {"message": message}}, status_code=status, headers=headers)


def error_response(exc: errors.SluiceError) -> Response:
    status = status_of(exc)
    headers = {"Retry-After": "15"} if status == 503 else retry_headers(exc)
    return error(exc.message, status, headers)


async def on_sluice_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.SluiceError)
    return error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return error(message, exc.status_code, dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    known = errors.machine_failure(exc)
    if known is not None:
        log.warning("%s %s: %s (%s)", request.method, request.url.path, known.message, exc)
        return error_response(known)
    log.error(
        "unexpected error in an Fn request %s %s", request.method, request.url.path, exc_info=exc
    )
    return error("Internal server error", 500)


HANDLERS = {
    errors.SluiceError: on_sluice_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
