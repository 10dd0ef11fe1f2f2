"""No request body past SLUICE_BODY_MAX_BYTES reaches a handler, on any route: a declared
Content-Length past it is refused before a byte of the body is read, and a body without one
(chunked) is counted as it streams and refused the moment it passes. The refusal is a
TooLarge raised where the handler reads the body, so that each dialect answers its own 413;
a route that never reads its body answers as it would (the server drops the rest unread).
Each route's own, lower limit still applies (http/body.py). Applied by http/frame.py."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope

from sluice.errors import TooLarge
from sluice.numbers import whole_number


def capped(scope: Scope, receive: Receive, limit: int) -> Receive:
    """`receive`, refusing a body past `limit` bytes."""
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
    size = whole_number(declared.decode("latin-1")) if declared is not None else None
    if size is not None and size > limit:
        refusal = f"The request content was too large ({size} > {limit} bytes)."

        async def refused() -> Message:
            raise TooLarge(refusal)

        return refused
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise TooLarge(f"The request content was too large (more than {limit} bytes).")
        return message

    return counted
