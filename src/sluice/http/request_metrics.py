"""Counts every HTTP request by its route template, method and status; OpenFaaS function
calls also in the gateway's own metrics. One dict lookup and a counter or two per request."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.http.route_table import Templates
from sluice.observe import metrics

_FUNCTION_PREFIXES = ("/function/", "/async-function/")
#: any other method is counted as "other": a label's values must stay few
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    def __init__(self, app: ASGIApp, templates: Templates, openfaas_namespace: str) -> None:
        self.app = app
        self.templates = templates
        self.openfaas_namespace = openfaas_namespace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counting = metrics.installed()
        if scope["type"] != "http" or counting is None:
            await self.app(scope, receive, send)
            return
        status = 500  # unless a response starts

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path = scope["path"]
        function = self._function(path) if path.startswith(_FUNCTION_PREFIXES) else None
        began = time.perf_counter() if function is not None else 0.0
        try:
            await self.app(scope, receive, seen)
        finally:
            method = scope["method"]
            counting.http_requests_by.inc(
                self.templates.of(scope), method if method in _METHODS else "other", str(status)
            )
            # an unknown function's 404 is not counted: its name is anyone's choice
            if function is not None and status != 404:
                code = str(status)
                counting.gateway_started_by.inc(function)
                counting.gateway_invocations_by.inc(function, code)
                counting.gateway_seconds_by.observe(time.perf_counter() - began, function, code)

    def _function(self, path: str) -> str | None:
        """OpenFaaS's function_name (name.namespace) of a function call's path."""
        name = path.split("/", 3)[2]
        return f"{name}.{self.openfaas_namespace}" if name else None
