"""What every request passes through, in one layer: its body capped (http/body_cap.py), CORS
answered and added where its route sets none of its own (http/cors.py), an unexpected error
answered without losing the connection (http/contain.py), and the request counted by route
and status (http/request_metrics.py). One layer, not four: each ASGI middleware costs every
request a coroutine and most a wrapper of `send` too, 8 us of an accept's 125 for the four
(bench/inprocess.py)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.http import contain, cors
from sluice.http.body_cap import capped
from sluice.http.contain import Handler
from sluice.http.request_metrics import RequestCounter
from sluice.observe import metrics


class RequestFrame:
    def __init__(
        self,
        app: ASGIApp,
        *,
        body_limit: int,
        own_cors: tuple[str, ...],
        on_unexpected: Handler,
        counter: RequestCounter,
    ) -> None:
        self.app = app
        self.body_limit = body_limit
        #: paths whose routes answer OPTIONS and set CORS themselves
        self.own_cors = own_cors
        self.on_unexpected = on_unexpected
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        with_cors = not path.startswith(self.own_cors)
        counting = metrics.installed()
        function = self.counter.function_of(path) if counting is not None else None
        began = time.perf_counter() if function is not None else 0.0
        status = 500  # unless a response starts
        started = False

        async def sending(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                if with_cors:
                    cors.add_headers(message)
            await send(message)

        try:
            if with_cors and scope["method"] == "OPTIONS":
                await cors.answer_preflight(sending)
                return
            receive = capped(scope, receive, self.body_limit)
            try:
                await self.app(scope, receive, sending)
            except Exception as error:
                if started:
                    raise
                await contain.answer(self.on_unexpected, error, scope, receive, sending)
        finally:
            if counting is not None:
                self.counter.count(counting, scope, status, function, began)
