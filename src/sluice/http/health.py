"""What every role's port answers about the server itself: `/health` (the process is up),
`/ready` (it can do its work: store and queue reachable, workers present, accepting), and
`/metrics` (http/metrics.py). A worker or scheduler process serves only these."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.engine.system import SYSTEM
from sluice.http import metrics
from sluice.http.context import Server, server
from sluice.http.responses import JSON

#: a store that takes longer than this to answer a read is not ready
_STORE_TIMEOUT_S = 2.0


async def health(request: Request) -> JSON:
    sluice = server(request)
    body: dict[str, object] = {"status": "ok", "role": sluice.settings.role}
    if "worker" in sluice.roles:
        capacity = sluice.worker.capacity
        body["capacity"] = {
            "memory_mb": capacity.memory_mb,
            "used_mb": capacity.used_mb,
            "running": capacity.active,
        }
    return JSON(body)


async def _store(sluice: Server) -> str | None:
    try:
        await asyncio.wait_for(sluice.store.get_namespace(SYSTEM), _STORE_TIMEOUT_S)
    except TimeoutError:
        return f"the store did not answer within {_STORE_TIMEOUT_S:g} s"
    except Exception as exc:
        return f"the store is unreachable: {exc}"
    return None


def _queue(sluice: Server) -> str | None:
    nats = sluice.transport.nats
    if nats is not None and not nats.is_connected:
        return "NATS is not connected"
    return None  # the embedded queue is the store's


def _workers(sluice: Server) -> str | None:
    if sluice.worker_process is not None:
        process = sluice.worker_process.process
        if process is None or process.returncode is not None:
            return "the worker process is not running"
        if not sluice.worker_process.link.ready.is_set():  # started again, not yet linked
            return "the worker process is starting"
    elif "worker" in sluice.roles and not sluice.worker.alive:
        return "the worker is not running"
    return None  # an API process whose workers run elsewhere: their own /ready tells


async def ready(request: Request) -> JSON:
    sluice = server(request)
    checks = {
        "store": await _store(sluice),
        "queue": _queue(sluice),
        "workers": _workers(sluice),
        "accepting": None if sluice.calls.accepting else "the server is stopping",
    }
    reasons = [reason for reason in checks.values() if reason is not None]
    body: dict[str, object] = {
        "status": "not ready" if reasons else "ready",
        "role": sluice.settings.role,
        "checks": {name: reason or "ok" for name, reason in checks.items()},
    }
    if reasons:
        body["reasons"] = reasons
    return JSON(body, status_code=503 if reasons else 200)


async def scrape(request: Request) -> Response:
    return await metrics.scrape(server(request), request)


def platform_routes() -> list[BaseRoute]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", scrape, methods=["GET"]),
    ]


def build_health_app(
    sluice: Server, lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]]
) -> Starlette:
    app = Starlette(
        routes=[Route("/", health, methods=["GET"]), *platform_routes()], lifespan=lifespan
    )
    app.state.sluice = sluice
    return app
