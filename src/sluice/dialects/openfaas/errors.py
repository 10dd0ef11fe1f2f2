"""The only code that writes OpenFaaS's error style: plain text and a proper status."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sluice import errors
from sluice.http.status import retry_headers, status_of

log = logging.getLogger("sluice.http")

_HTTP_MESSAGES = {404: "Not Found", 405: "Method Not Allowed"}
#: what OpenFaaS's gateway answers on a request without valid credentials
INVALID_CREDENTIALS = "invalid credentials"
_REALM = 'Basic realm="Restricted"'


def text_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """`message` as Go's http.Error writes it: one line of plain text, not sniffed."""
    return PlainTextResponse(
        message.rstrip("\n") + "\n",
        status_code=status,
        headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
    )


def error_response(exc: errors.SluiceError) -> Response:
    status = status_of(exc)
    if status == 401:
        return text_error(INVALID_CREDENTIALS, 401, {"WWW-Authenticate": _REALM})
    return text_error(exc.message, status, retry_headers(exc))


async def on_sluice_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.SluiceError)
    return error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return text_error(message, exc.status_code, dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    known = errors.machine_failure(exc)
    if known is not None:
        log.warning("%s %s: %s (%s)", request.method, request.url.path, known.message, exc)
        return error_response(known)
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return text_error("Internal server error", 500)


HANDLERS = {
    errors.SluiceError: on_sluice_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
