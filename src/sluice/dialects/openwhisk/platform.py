"""`GET /`: upstream's platform info (its controller's answer at the root), with the action
runtimes this server runs. The aio CLI's deploy reads `runtimes.nodejs[].kind` from it to
check a kind it does not know itself."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice.http.context import engine
from sluice.http.responses import JSON
from sluice.kinds import serves_http
from sluice.runtime.base import Runtime

#: the families clients look for even when nothing of them is installed (an empty list
#: lets aio say which kinds there are rather than fail on a missing key)
ALWAYS_LISTED = ("nodejs",)


def runtimes(runtime: Runtime) -> dict[str, list[dict[str, Any]]]:
    """OpenWhisk's runtimes by family: each `family:version` kind that runs here, the one
    `family:default` names marked default. Kinds of the other dialects (Fn's formats,
    OpenFaaS's process and http) and blackbox are not OpenWhisk runtimes."""
    out: dict[str, list[dict[str, Any]]] = {family: [] for family in ALWAYS_LISTED}
    for kind in runtime.kinds():
        family, colon, version = kind.partition(":")
        if not colon or serves_http(kind):
            continue
        out.setdefault(family, []).append(
            {
                "kind": kind,
                # no images: processes run on this machine's interpreters
                "image": f"sluice/{family}-{version}",
                "deprecated": False,
                "default": runtime.resolve_kind(f"{family}:default") == kind,
                "attached": True,
                "requireMain": False,
            }
        )
    return out


def info(request: Request) -> dict[str, Any]:
    sluice = engine(request)
    settings = sluice.settings
    mb = 1024 * 1024
    return {
        "description": "OpenWhisk (Sluice)",
        "api_paths": ["/api/v1"],
        "limits": {
            # Sluice counts no calls per minute: what bounds a namespace is concurrency
            "actions_per_minute": None,
            "triggers_per_minute": None,
            "concurrent_actions": settings.namespace_concurrency,
            "default_min_action_duration": settings.timeout_min_ms,
            "default_max_action_duration": settings.timeout_max_ms,
            "default_min_action_memory": settings.memory_min_mb * mb,
            "default_max_action_memory": settings.memory_max_mb * mb,
            "default_min_action_logs": 0,
            "default_max_action_logs": settings.logs_max_mb * mb,
            "min_action_duration": settings.timeout_min_ms,
            "max_action_duration": settings.timeout_max_ms,
            "min_action_memory": settings.memory_min_mb * mb,
            "max_action_memory": settings.memory_max_mb * mb,
            "min_action_logs": 0,
            "max_action_logs": settings.logs_max_mb * mb,
            "sequence_length": settings.sequence_max_actions,
        },
        "runtimes": runtimes(sluice.runtime),
    }


async def root(request: Request) -> Response:
    return JSON(info(request))
