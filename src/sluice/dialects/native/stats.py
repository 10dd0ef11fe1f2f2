"""`GET /sluice/v1/namespaces/{ns}/stats`: one namespace's queue, running calls, rates and
slowest functions, read from its call records (what `sluice top` draws).

It needs only the namespace's own key, not the metrics token: /metrics adds up every
namespace, this tells one its own. The recent figures cover the calls that started (or were
accepted, if they never started) in the last `window` seconds and have ended."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sluice.dialects.native.routes import call_state
from sluice.errors import BadRequest
from sluice.http.context import caller_namespace, engine
from sluice.http.responses import JSON
from sluice.records import Call, CallState
from sluice.store.base import CallFilter
from sluice.timing import now_ms

DEFAULT_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 3600
#: ended calls the per-status and per-function figures are drawn from at most (the newest)
MAX_SAMPLED = 1000
#: running calls listed at most (the newest), and functions in the slowest list
RUNNING_LISTED = 20
SLOWEST_LISTED = 10


def window_seconds(request: Request) -> int:
    text = request.query_params.get("window") or str(DEFAULT_WINDOW_SECONDS)
    try:
        window = int(text)
    except ValueError as exc:
        raise BadRequest("The query parameter 'window' must be whole seconds.") from exc
    return min(max(window, 1), MAX_WINDOW_SECONDS)


def duration_ms(call: Call) -> int:
    """From the start of its run (or its accept, if it never ran) to its end."""
    begun = call.started or call.created
    return max((call.ended or begun) - begun, 0)


@dataclass
class FunctionFigures:
    calls: int = 0
    errors: int = 0
    durations: list[int] = field(default_factory=list)

    def as_json(self, action: str) -> dict[str, Any]:
        return {
            "action": action,
            "calls": self.calls,
            "errors": self.errors,
            "meanMs": round(sum(self.durations) / len(self.durations)),
            "maxMs": max(self.durations),
        }


def slowest(ended: list[Call]) -> list[dict[str, Any]]:
    """The functions of `ended` by their mean duration, slowest first."""
    figures: dict[str, FunctionFigures] = {}
    for call in ended:
        figure = figures.setdefault(f"{call.namespace}/{call.path}", FunctionFigures())
        figure.calls += 1
        figure.errors += call.state is not CallState.SUCCESS
        figure.durations.append(duration_ms(call))
    shown = [figure.as_json(action) for action, figure in figures.items()]
    shown.sort(key=lambda item: (-item["meanMs"], item["action"]))
    return shown[:SLOWEST_LISTED]


def running_state(call: Call, now: int) -> dict[str, Any]:
    return {**call_state(call), "elapsedMs": max(now - (call.started or call.created), 0)}


async def namespace_stats(request: Request) -> Response:
    namespace = await caller_namespace(request)
    window = window_seconds(request)
    calls = engine(request).calls
    now = now_ms()
    since = now - window * 1000

    def live(state: CallState, **more: Any) -> CallFilter:
        return CallFilter(namespace, terminal_only=False, state=state.value, **more)

    queued = await calls.count(live(CallState.QUEUED))
    running = await calls.page(live(CallState.RUNNING, limit=RUNNING_LISTED))
    # calls are listed newest first: the oldest waiting one is the last of them
    oldest = await calls.page(live(CallState.QUEUED, skip=queued - 1, limit=1)) if queued else []
    ended = await calls.page(CallFilter(namespace, since=since, limit=MAX_SAMPLED))
    ended_count = await calls.count(CallFilter(namespace, since=since))
    return JSON(
        {
            "namespace": namespace,
            "now": now,
            "windowSeconds": window,
            "queued": queued,
            "oldestQueuedSeconds": (now - oldest[0].created) / 1000 if oldest else None,
            "running": await calls.count(live(CallState.RUNNING)),
            "runningCalls": [running_state(call, now) for call in running],
            "ended": ended_count,
            "endedPerSecond": round(ended_count / window, 3),
            "sampled": len(ended),
            "byStatus": dict(Counter(call.state.value for call in ended)),
            "slowest": slowest(ended),
        }
    )


def routes() -> list[BaseRoute]:
    return [Route("/sluice/v1/namespaces/{ns}/stats", namespace_stats, methods=["GET"])]
