"""The live call list: a server-sent-event stream of the namespace's newest calls as they
change state, and the queue and throughput figures every few seconds.

It reads the store on a short tick rather than hooking into the engine: the calls may run
in another process (or host), and a read of one page of the newest calls is all a tick
costs. The stream ends when the server begins to stop, so an open dashboard never holds
up a shutdown (the browser's EventSource reconnects on its own)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sluice.http.context import engine
from sluice.timing import now_ms
from sluice.ui import views
from sluice.ui.api import Filter, namespace_stats, recent_calls
from sluice.ui.signin import signed_in

TICK_SECONDS = 0.4
#: the stats go out every this many ticks
STATS_EVERY = 5
#: the newest calls the stream follows, and (filtered by state or dialect) looks through
FOLLOWED = 50
SCANNED = 200
#: how long one stream lasts before the browser is asked to reconnect (and sign-in is
#: checked again)
STREAM_MS = 5 * 60 * 1000


async def _events(request: Request, namespace: str, given: Filter) -> AsyncIterator[bytes]:
    sluice = engine(request)
    seen: dict[str, tuple[str, int, int | None]] = {}
    yield b"retry: 1000\n\n"
    ends = now_ms() + STREAM_MS
    tick = 0
    while sluice.calls.accepting and now_ms() < ends:
        changed = []
        for call in await recent_calls(namespace, request, given, FOLLOWED, SCANNED):
            summary = views.call_summary(call)
            mark = (summary["state"], summary["attempts"], summary["ended"])
            if seen.get(summary["id"]) != mark:
                seen[summary["id"]] = mark
                changed.append(summary)
        if changed or tick == 0:
            yield views.sse("calls", changed)
        if tick % STATS_EVERY == 0:
            yield views.sse("stats", await namespace_stats(request, namespace))
        tick += 1
        await asyncio.sleep(TICK_SECONDS)
    yield views.sse("bye", {})


async def events(request: Request) -> Response:
    namespace = (await signed_in(request)).name
    given = Filter.of(request)
    return StreamingResponse(
        _events(request, namespace, given),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
