"""`GET /metrics`: Prometheus's text format, on every role's port.

The counters and histograms come from every process of this server (its worker process
included: observe/metrics.py); the queues' depth and the OpenFaaS functions' count are read
from the store at the scrape. Open to loopback clients; others need SLUICE_METRICS_TOKEN as a
bearer token (refused when none is set)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sluice.http.context import Server
from sluice.observe import metrics
from sluice.store.base import QueueDepth
from sluice.timing import now_ms

#: OpenFaaS functions listed for gateway_service_count at most
_FUNCTIONS_MAX = 1000


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(request: Request, token: str | None) -> Response | None:
    """None when the client may read the metrics; else the answer it gets."""
    if _loopback(request):
        return None
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
        return None
    if not token:
        return PlainTextResponse("Metrics are served to loopback clients only.\n", 403)
    return PlainTextResponse(
        "Bearer token required.\n", 401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
    )


class _ReadAtScrape:
    """The values read from the store for this scrape, as metric families."""

    def __init__(self, depths: Sequence[QueueDepth], functions: Sequence[str], now: int) -> None:
        self.depths = depths
        self.functions = functions
        self.now = now

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        depth = GaugeMetricFamily(
            "sluice_queue_depth", "Calls waiting in each queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "sluice_queue_oldest_age_seconds",
            "How long the longest waiting call of each queue has been due.",
            labels=["queue"],
        )
        for queue in self.depths:
            name = queue.queue or "default"
            depth.add_metric([name], queue.queued)
            age.add_metric([name], max(self.now - queue.oldest_due, 0) / 1000)
        services = GaugeMetricFamily(
            "gateway_service_count",
            "Current count of replicas for function",
            labels=["function_name"],
        )
        for function in self.functions:
            services.add_metric([function], 1)
        yield from (depth, age, services)


def _render(directory: Path, read: _ReadAtScrape) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    metrics.flush()  # what this process counted lately (the files are what is read)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(directory))  # type: ignore[no-untyped-call]
    registry.register(read)
    return generate_latest(registry)


async def _functions(sluice: Server) -> list[str]:
    """OpenFaaS's function_name of each function (name.namespace), as its API lists them."""
    if "api" not in sluice.roles:
        return []
    namespace = sluice.settings.openfaas_namespace
    actions = await sluice.actions.page(namespace, 0, _FUNCTIONS_MAX)
    return [f"{a.name}.{namespace}" for a in actions if "/" not in a.name]


async def scrape(sluice: Server, request: Request) -> Response:
    refused = refusal(request, sluice.settings.metrics_token)
    if refused is not None:
        return refused
    directory = metrics.directory()
    if directory is None:
        return PlainTextResponse("Metrics are off (SLUICE_METRICS=off).\n", 404)
    read = _ReadAtScrape(await sluice.store.queue_depths(), await _functions(sluice), now_ms())
    body = await asyncio.to_thread(_render, directory, read)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
