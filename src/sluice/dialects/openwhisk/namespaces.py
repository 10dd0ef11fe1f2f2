"""API info, namespace listing, and the log-forwarding settings the aio CLI asks for."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sluice.http.auth import authenticate
from sluice.http.context import caller_namespace, engine
from sluice.http.responses import JSON


async def api_info(request: Request) -> Response:
    settings = engine(request).settings
    return JSON(
        {
            "description": "Sluice: OpenWhisk API",
            "api_paths": ["/api/v1"],
            "limits": {
                "actions_per_minute": None,
                "triggers_per_minute": None,
                "min_action_duration": settings.timeout_min_ms,
                "max_action_duration": settings.timeout_max_ms,
                "min_action_memory": settings.memory_min_mb * 1024 * 1024,
                "max_action_memory": settings.memory_max_mb * 1024 * 1024,
                "max_action_logs": settings.logs_max_mb * 1024 * 1024,
            },
            "runtimes": engine(request).runtime_kinds(),
        }
    )


async def list_namespaces(request: Request) -> Response:
    caller = await authenticate(request, engine(request).namespaces)
    return JSON([caller.name])


async def log_forwarding(request: Request) -> Response:
    await caller_namespace(request)
    return JSON({})
