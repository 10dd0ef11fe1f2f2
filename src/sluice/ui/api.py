"""The dashboard's JSON reads and its two changes (cancel, redrive), all of the signed-in
namespace alone. Reads are bounded (a page of calls, never a scan of them all), so that an
open dashboard costs the accept path next to nothing."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sluice.engine.actions import ACTIONS
from sluice.engine.alarms import SCHEDULES
from sluice.engine.rules import RULES, TRIGGERS
from sluice.errors import BadRequest, NotFound
from sluice.http.context import engine
from sluice.http.responses import JSON
from sluice.ids import CallId
from sluice.records import Call, CallState
from sluice.store.base import CallFilter
from sluice.timing import now_ms
from sluice.ui import views
from sluice.ui.signin import check_origin, signed_in

#: entities listed at most (functions, triggers, rules)
MAX_ENTITIES = 500
#: calls a function's error rate is taken over
RATE_CALLS = 50
#: calls one listing shows at most, and how many a filtered one looks through
MAX_LISTED = 200
SCAN_CALLS = 1000
#: the newest calls the queue and throughput figures are counted among
STATS_CALLS = 500
#: the throughput window
STATS_WINDOW_MS = 10_000

_STATES = {state.value for state in CallState}


def call_id(request: Request) -> CallId:
    found = CallId.parse(request.path_params["id"])
    if found is None:
        raise BadRequest("A call id is 32 hex digits, a UUID or a ULID.")
    return found


class Filter:
    """The call list's filters: function, state and dialect (any may be empty)."""

    def __init__(self, function: str = "", state: str = "", dialect: str = "") -> None:
        if state and state not in _STATES:
            raise BadRequest(f"The state must be one of {', '.join(sorted(_STATES))}.")
        self.function, self.state, self.dialect = function, state, dialect

    @classmethod
    def of(cls, request: Request) -> Filter:
        query = request.query_params
        return cls(query.get("function", ""), query.get("state", ""), query.get("dialect", ""))

    def query(self, namespace: str, limit: int) -> CallFilter:
        return CallFilter(namespace, self.function or None, terminal_only=False, limit=limit)

    def scan(self, limit: int, most: int = SCAN_CALLS) -> int:
        """How many calls to read to find `limit` that pass the filters after reading (the
        store filters by function itself, state and dialect are checked here)."""
        return max(most, limit) if self.state or self.dialect else limit

    def passes(self, call: Call) -> bool:
        return (not self.state or call.state.value == self.state) and (
            not self.dialect or views.call_dialect(call) == self.dialect
        )


async def recent_calls(
    namespace: str, request: Request, given: Filter, limit: int, scan: int = SCAN_CALLS
) -> list[Call]:
    """The newest `limit` calls that pass the filters, among the newest `scan`."""
    calls = await engine(request).calls.page(given.query(namespace, given.scan(limit, scan)))
    return [call for call in calls if given.passes(call)][:limit]


async def list_functions(request: Request) -> Response:
    namespace = (await signed_in(request)).name
    sluice = engine(request)
    out = []
    for entity in await sluice.store.list_entities(namespace, ACTIONS, 0, MAX_ENTITIES):
        recent = await sluice.calls.page(
            CallFilter(namespace, entity.name, terminal_only=False, limit=RATE_CALLS)
        )
        out.append(views.function(entity, recent))
    return JSON(out)


async def list_calls(request: Request) -> Response:
    namespace = (await signed_in(request)).name
    try:
        limit = min(max(int(request.query_params.get("limit") or "50"), 1), MAX_LISTED)
    except ValueError as exc:
        raise BadRequest("The query parameter 'limit' must be a whole number.") from exc
    calls = await recent_calls(namespace, request, Filter.of(request), limit)
    return JSON([views.call_summary(call) for call in calls])


async def get_call(request: Request) -> Response:
    namespace = (await signed_in(request)).name
    sluice = engine(request)
    call = await sluice.calls.get(namespace, call_id(request))
    return JSON(views.call_detail(call, await sluice.store.get_callback(call.id)))


async def cancel_call(request: Request) -> Response:
    check_origin(request)
    namespace = (await signed_in(request)).name
    await engine(request).cancellation.call(namespace, call_id(request))
    return JSON({"cancelled": True})


async def list_dead_letters(request: Request) -> Response:
    namespace = (await signed_in(request)).name
    found = await engine(request).dead_letters.list(namespace, None, MAX_LISTED)
    return JSON([views.dead_letter(letter, call) for letter, call in found])


async def redrive(request: Request) -> Response:
    check_origin(request)
    namespace = (await signed_in(request)).name
    accepted = await engine(request).dead_letters.redrive(namespace, call_id(request))
    return JSON({"id": accepted.id.hex}, status_code=202)


async def list_triggers(request: Request) -> Response:
    """Triggers with their alarm schedules (and its next fire), and the rules."""
    namespace = (await signed_in(request)).name
    sluice = engine(request)
    store = sluice.store
    triggers = []
    for entity in await store.list_entities(namespace, TRIGGERS, 0, MAX_ENTITIES):
        schedule = await store.get_entity(namespace, SCHEDULES, entity.name)
        triggers.append(views.trigger(entity, schedule))
    rules = []
    for entity in await store.list_entities(namespace, RULES, 0, MAX_ENTITIES):
        try:
            rules.append(views.rule(await sluice.rules.get(namespace, entity.name)))
        except NotFound:
            continue  # deleted meanwhile
    return JSON({"triggers": triggers, "rules": rules})


def stats_of(calls: list[Call], now: int) -> dict[str, Any]:
    """Queue depth and throughput, counted among the newest calls."""
    since = now - STATS_WINDOW_MS
    ended = sum(1 for call in calls if call.ended is not None and call.ended >= since)
    return {
        "at": now,
        "queued": sum(1 for call in calls if call.state is CallState.QUEUED),
        "running": sum(1 for call in calls if call.state is CallState.RUNNING),
        "perSecond": round(ended * 1000 / STATS_WINDOW_MS, 2),
        "counted": len(calls),
    }


async def namespace_stats(request: Request, namespace: str) -> dict[str, Any]:
    query = CallFilter(namespace, terminal_only=False, limit=STATS_CALLS)
    return stats_of(await engine(request).calls.page(query), now_ms())


async def stats(request: Request) -> Response:
    namespace = (await signed_in(request)).name
    return JSON(await namespace_stats(request, namespace))
