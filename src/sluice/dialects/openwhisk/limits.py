"""`GET /namespaces/{ns}/limits`: what a namespace's actions may ask for, in upstream's shape
(its UserLimits record: memory and logs in MB, timeouts in ms, the parameter size as text).
Upstream's per-minute invocation and fire limits are left out: Sluice has none."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.config import Settings
from sluice.errors import BadRequest
from sluice.http.context import caller_namespace, engine
from sluice.http.responses import JSON


def namespace_limits(settings: Settings) -> dict[str, Any]:
    return {
        "concurrentInvocations": settings.namespace_concurrency,
        "minActionMemory": settings.memory_min_mb,
        "maxActionMemory": settings.memory_max_mb,
        "minActionLogs": 0,
        "maxActionLogs": settings.logs_max_mb,
        "minActionTimeout": settings.timeout_min_ms,
        "maxActionTimeout": settings.timeout_max_ms,
        "minActionConcurrency": 1,
        "maxActionConcurrency": settings.concurrency_max,
        "maxParameterSize": f"{settings.request_max_bytes} B",
        "maxActionInstances": settings.namespace_concurrency,
    }


async def get_limits(request: Request) -> Response:
    await caller_namespace(request)
    return JSON(namespace_limits(engine(request).settings))


async def get_one_limit(request: Request) -> Response:
    await caller_namespace(request)
    raise BadRequest("Inner entity level routes for limits are not yet implemented.")


def routes(namespace_path: str) -> list[BaseRoute]:
    return [
        Route(f"{namespace_path}/limits", get_limits, methods=["GET"]),
        Route(f"{namespace_path}/limits/", get_limits, methods=["GET"]),
        Route(f"{namespace_path}/limits/{{name}}", get_one_limit, methods=["GET"]),
    ]
