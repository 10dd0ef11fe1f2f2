"""The floor of the accept measurement: a bare ASGI app that answers 202 with a small JSON body.

Served by uvicorn (uvloop, httptools) as Sluice is; the open-loop generator against it shows
what the generator and an HTTP server cost before any Sluice code runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
BODY = b'{"activationId":"00000000000000000000000000000000"}'


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "http":
        await read_body(receive)
        await respond(send, 202, BODY)


async def read_body(receive: Callable[[], Awaitable[Message]]) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def respond(send: Callable[[Message], Awaitable[None]], status: int, body: bytes) -> None:
    """A JSON answer."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
