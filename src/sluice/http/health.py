"""The one HTTP route of a worker or scheduler process: is it up, and (a worker) how much
of its memory pool its running calls hold, for a load balancer's or an operator's eyes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from sluice.http.responses import JSON

if TYPE_CHECKING:
    from sluice.wiring import Sluice


def build_health_app(
    sluice: Sluice, lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]]
) -> Starlette:
    async def health(request: Request) -> JSON:
        body: dict[str, object] = {"status": "ok", "role": sluice.settings.role}
        if "worker" in sluice.roles:
            capacity = sluice.worker.capacity
            body["capacity"] = {
                "memory_mb": capacity.memory_mb,
                "used_mb": capacity.used_mb,
                "running": capacity.active,
            }
        return JSON(body)

    return Starlette(routes=[Route("/", health), Route("/health", health)], lifespan=lifespan)
