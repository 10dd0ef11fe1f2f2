"""CORS for the REST API, as OpenWhisk sends it on every answer. Web actions set their own
(they may opt out with `web-custom-options`), so their paths are left alone."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, DELETE, POST, PUT, HEAD",
    "Access-Control-Allow-Headers": (
        "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"
    ),
}
_RAW = [(name.lower().encode(), value.encode()) for name, value in _HEADERS.items()]


class ApiCors:
    def __init__(self, app: ASGIApp, skip_prefix: str | tuple[str, ...] = "/api/v1/web/") -> None:
        self.app = app
        self.skip_prefix = skip_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip_prefix):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": list(_RAW),
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                own = {name.lower() for name, _ in headers}  # an answer's own CORS headers win
                message["headers"] = headers + [item for item in _RAW if item[0] not in own]
            await send(message)

        await self.app(scope, receive, send_with_cors)
