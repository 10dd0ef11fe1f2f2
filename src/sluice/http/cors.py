"""CORS for the REST API, as OpenWhisk sends it on every answer. Web actions set their own
(they may opt out with `web-custom-options`), so their paths are left alone (the prefixes
http/frame.py is given)."""

from __future__ import annotations

from starlette.types import Message, Send

_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, DELETE, POST, PUT, HEAD",
    "Access-Control-Allow-Headers": (
        "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"
    ),
}
_RAW = [(name.lower().encode(), value.encode()) for name, value in _HEADERS.items()]


async def answer_preflight(send: Send) -> None:
    """An OPTIONS request's answer: 200 with the CORS headers."""
    await send({"type": "http.response.start", "status": 200, "headers": list(_RAW)})
    await send({"type": "http.response.body", "body": b""})


def add_headers(start: Message) -> None:
    """The CORS headers onto a response's start, but those the answer set itself."""
    headers = list(start.get("headers", ()))
    own = {name.lower() for name, _ in headers}  # an answer's own CORS headers win
    start["headers"] = headers + [item for item in _RAW if item[0] not in own]
