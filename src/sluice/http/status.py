"""The HTTP status of each error of the tree, the same in every dialect."""

from __future__ import annotations

from sluice import errors

_STATUS: list[tuple[type[errors.SluiceError], int]] = [
    (errors.TooLarge, 413),
    (errors.BadRequest, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.TooManyRequests, 429),
    (errors.Unavailable, 503),
]


def status_of(exc: errors.SluiceError) -> int:
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)


def retry_headers(exc: errors.SluiceError) -> dict[str, str]:
    """`Retry-After` for an error that says when to try again; none for the others."""
    if isinstance(exc, errors.TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return {}
