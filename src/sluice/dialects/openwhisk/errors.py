"""The only code that writes OpenWhisk's error shape: {"error": "...", "code": "<txn id>"}."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sluice import errors
from sluice.http.responses import JSON
from sluice.http.status import retry_headers, status_of
from sluice.ids import new_transaction_id

log = logging.getLogger("sluice.http")

_HTTP_MESSAGES = {
    404: errors.NotFound.__doc__ or "",
    405: "Method not allowed.",
}


def error_body(message: str) -> dict[str, str]:
    return {"error": message, "code": new_transaction_id()}


def error_response(exc: errors.SluiceError) -> Response:
    status = status_of(exc)
    headers = retry_headers(exc)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="whisk rest service"'
    return JSON(error_body(exc.message), status_code=status, headers=headers)


async def on_sluice_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.SluiceError)
    return error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return JSON(error_body(message), status_code=exc.status_code, headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    known = errors.machine_failure(exc)
    if known is not None:
        log.warning("%s %s: %s (%s)", request.method, request.url.path, known.message, exc)
        return error_response(known)
    body = error_body("Internal server error.")
    log.error("unexpected error, code %s", body["code"], exc_info=exc)
    return JSON(body, status_code=500)
