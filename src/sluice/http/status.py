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
    (errors.Unavailable, 503),
]


def status_of(exc: errors.SluiceError) -> int:
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)
