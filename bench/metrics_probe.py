"""What the metrics add to one accept, timed in-process (a loaded machine moves a server's
latency by far more than this): the request's frame (http/frame.py, which counts it) around
a request that a router sends to OpenWhisk's invoke route and answers 202, and the counter
the engine increments, in prometheus_client's multi-process mode as the server runs them;
less the same request without them. Prints one JSON object: microseconds per accept."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sluice.asgi import all_routes
from sluice.http.frame import RequestFrame
from sluice.http.request_metrics import RequestCounter
from sluice.http.route_table import Templates
from sluice.observe import metrics

ROUNDS = 100_000
INVOKE = "/api/v1/namespaces/{ns}/actions/{name:path}"


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"{}", "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    return None


async def _best(call: Callable[[dict[str, Any]], Awaitable[None]]) -> float:
    """Seconds per call, the least disturbed of five runs."""
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(ROUNDS):
            await call(
                {
                    "type": "http",
                    "method": "POST",
                    "path": "/api/v1/x",
                    "root_path": "",
                    "headers": [(b"content-length", b"2")],
                }
            )
        best = min(best, (time.perf_counter() - began) / ROUNDS)
    return best


async def measure(work: Path) -> dict[str, float]:
    metrics.install(work)
    routes = all_routes()
    endpoint = next(r.endpoint for r in routes if getattr(r, "path", "") == INVOKE)

    async def routed(scope: dict[str, Any], *_: Any) -> None:
        """What the router and the endpoint leave and send, and the engine counts."""
        scope.update(endpoint=endpoint, path_params={"ns": "_", "name": "noop"})
        metrics.call_accepted("guest", "noop", "openwhisk")
        await _send({"type": "http.response.start", "status": 202, "headers": []})
        await _send({"type": "http.response.body", "body": b"{}"})

    async def unexpected(*_: Any) -> Any:
        raise AssertionError("the probe's route raises nothing")

    counted = RequestFrame(
        routed,
        body_limit=1 << 20,
        own_cors=(),
        on_unexpected=unexpected,
        counter=RequestCounter(Templates(routes), "guest"),
    )
    on = await _best(lambda scope: counted(scope, _receive, _send))
    metrics.remove()
    metrics.uninstall()  # the same request with the metrics off: nothing is counted
    off = await _best(lambda scope: counted(scope, _receive, _send))
    return {"on_us": on * 1e6, "off_us": off * 1e6, "cost_us": (on - off) * 1e6}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sluice-metrics-probe-") as work:
        figures = asyncio.run(measure(Path(work)))
    print(json.dumps({**figures, "rounds": ROUNDS}))


if __name__ == "__main__":
    main()
