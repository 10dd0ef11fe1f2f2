"""No request body past SLUICE_BODY_MAX_BYTES reaches a handler, on any route: a declared
Content-Length past it is refused before a byte of the body is read, and a body without one
(chunked) is counted as it streams and refused the moment it passes. The refusal is a
TooLarge raised where the handler reads the body, so that each dialect answers its own 413;
a route that never reads its body answers as it would (the server drops the rest unread).
Each route's own, lower limit still applies (http/body.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.errors import TooLarge
from sluice.numbers import whole_number


class BodyCap:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        size = whole_number(declared.decode("latin-1")) if declared is not None else None
        if size is not None and size > limit:
            refusal = f"The request content was too large ({size} > {limit} bytes)."

            async def refused() -> Message:
                raise TooLarge(refusal)

            await self.app(scope, refused, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(f"The request content was too large (more than {limit} bytes).")
            return message

        await self.app(scope, counted, send)
