"""The error tree. Each dialect maps these to its own wire shape in one place.

    SluiceError
    ├── BadRequest          the request is malformed or breaks a rule (400)
    │   └── TooLarge        a body or parameter set is over its size limit (413)
    ├── Unauthenticated     no credentials, or credentials that match no key (401)
    ├── Forbidden           valid credentials, but not for this namespace (403)
    ├── NotFound            no such entity or call (404)
    ├── Conflict            the entity exists, or is still in use (409)
    ├── TooManyRequests     too many failed key checks from one address (429)
    └── Unavailable         the server is shutting down or overloaded (503)
        └── DiskFull        the disk of the store is full (503)

A class's docstring is its default message.

Outside the tree, CannotStart: what keeps a server process from starting (a service that
refuses it, a wrong setting), told in one line without a traceback.
"""

from __future__ import annotations

import errno


class SluiceError(Exception):
    """An error in Sluice."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class BadRequest(SluiceError):
    """The request content was malformed."""


class TooLarge(BadRequest):
    """The request content was too large."""


class Unauthenticated(SluiceError):
    """The supplied authentication is invalid."""


class AuthenticationMissing(Unauthenticated):
    """The resource requires authentication, which was not supplied with the request."""


class Forbidden(SluiceError):
    """The supplied authentication is not authorized to access this resource."""


class NotFound(SluiceError):
    """The requested resource does not exist."""


class Conflict(SluiceError):
    """resource already exists"""


class TooManyRequests(SluiceError):
    """Too many requests in the last minute."""

    def __init__(self, count: int, allowed: int, retry_after: int) -> None:
        # OpenWhisk's own wording (Messages.tooManyRequests), in every dialect
        super().__init__(
            f"Too many requests in the last minute (count: {count}, allowed: {allowed})."
        )
        #: whole seconds until the minute that refused it is over
        self.retry_after = retry_after


class Unavailable(SluiceError):
    """The service is shutting down; try again shortly."""


class DiskFull(Unavailable):
    """The server's disk is full, so nothing new can be stored: free space on the disk of
    Sluice's data dir (or its database's); calls are taken again as soon as there is room."""


#: SQLSTATE disk_full (PostgreSQL)
_PG_DISK_FULL = "53100"


def machine_failure(exc: BaseException) -> SluiceError | None:
    """The error to answer for a failure of the machine rather than of Sluice (a full disk),
    or None: such a failure is told as it is, with what to do, never as an internal error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFull()
        if (
            "database or disk is full" in str(seen)
            or getattr(seen, "sqlstate", None) == _PG_DISK_FULL
        ):
            return DiskFull()
        seen = seen.__cause__ or seen.__context__
    return None


class CannotStart(Exception):
    """Sluice cannot start."""
