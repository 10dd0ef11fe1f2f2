"""An unexpected error answered without losing the connection.

Starlette's handler for `Exception` answers, then re-raises for the server to log; uvicorn
then closes the connection, so that a client's next request on it, already on its way, is
reset. http/frame.py answers through the given handler (which logs) instead and ends the
request there. Only an error after the answer has started still reaches the server (and
closes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request, Exception], Awaitable[Response]]


async def answer(
    handler: Handler, error: Exception, scope: Scope, receive: Receive, send: Send
) -> None:
    """The handler's answer to `error`, raised before the request's answer started."""
    response = await handler(Request(scope), error)
    await response(scope, receive, send)
