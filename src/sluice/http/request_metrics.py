"""Counts every HTTP request by its route template, method and status; OpenFaaS function
calls also in the gateway's own metrics. One dict lookup and a counter or two per request,
counted by http/frame.py once the request has ended."""

from __future__ import annotations

import time

from starlette.types import Scope

from sluice.http.route_table import Templates
from sluice.observe.metrics import Instruments

_FUNCTION_PREFIXES = ("/function/", "/async-function/")
#: any other method is counted as "other": a label's values must stay few
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestCounter:
    def __init__(self, templates: Templates, openfaas_namespace: str) -> None:
        self.templates = templates
        self.openfaas_namespace = openfaas_namespace

    def function_of(self, path: str) -> str | None:
        """OpenFaaS's function_name (name.namespace) of a function call's path."""
        if not path.startswith(_FUNCTION_PREFIXES):
            return None
        name = path.split("/", 3)[2]
        return f"{name}.{self.openfaas_namespace}" if name else None

    def count(
        self, counting: Instruments, scope: Scope, status: int, function: str | None, began: float
    ) -> None:
        """One request ended with `status`; `function` is `function_of` its path, and
        `began` the perf_counter when it began (for a function call's duration)."""
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
