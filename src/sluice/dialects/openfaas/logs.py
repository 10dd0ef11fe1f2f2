"""/system/logs as faas-provider's log handler serves it: a function's log lines as NDJSON
messages `{"name", "namespace", "instance", "timestamp", "text"}`, oldest first, with
`tail`, `since` (RFC 3339) and `instance`; with `follow` the stream stays open and sends the
lines of each call that ends, until the client goes or FOLLOW_SECONDS have passed.

A function's logs are its calls' logs: `instance` is the call id whose run wrote the line
(Sluice has no pods; one call is one run of the function)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sluice.dialects.openfaas.context import function_name, owner_namespace
from sluice.dialects.openfaas.errors import text_error
from sluice.dialects.openfaas.system import own_namespace
from sluice.errors import BadRequest, NotFound
from sluice.http.context import engine
from sluice.records import Call
from sluice.store.base import CallFilter

#: how long a followed stream stays open (faas-netes: its write timeout)
FOLLOW_SECONDS = 60.0
#: how often a followed stream looks for calls that ended
POLL_SECONDS = 0.5
#: calls read for one answer at most
CALLS_MAX = 200


class Unprocessable(ValueError):
    """A query faas-provider cannot parse (answered 422, as it does)."""


def _last(request: Request, name: str) -> str:
    values = request.query_params.getlist(name)
    return values[-1] if values else ""


def _tail(text: str) -> int:
    try:
        return int(text) if text else 0
    except ValueError as exc:
        raise Unprocessable() from exc


def _since_ms(text: str) -> int | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Unprocessable() from exc
    if moment.tzinfo is None:
        raise Unprocessable()
    return int(moment.timestamp() * 1000)


def _follow(text: str) -> bool:
    return text.lower() in ("1", "t", "true")


def messages(call: Call, name: str, namespace: str) -> list[dict[str, Any]]:
    """One message per stored log line of `call` ("<time> <stream>: <text>")."""
    out = []
    for line in (call.record or {}).get("logs", []):
        stamp, _, rest = str(line).partition(" ")
        _, sep, text = rest.partition(": ")
        out.append(
            {
                "name": name,
                "namespace": namespace,
                "instance": call.id.uuid,
                "timestamp": stamp,
                "text": text if sep else rest,
            }
        )
    return out


@dataclass(frozen=True)
class LogQuery:
    name: str
    tail: int
    since: int | None
    follow: bool
    instance: str


def _query(request: Request, namespace: str) -> LogQuery:
    """The request's query as faas-provider reads it (the last of repeated values);
    Unprocessable for a tail or since it cannot parse."""
    tail = _tail(_last(request, "tail"))
    since = _since_ms(_last(request, "since"))
    own_namespace(_last(request, "namespace"), namespace)
    text = _last(request, "name")
    if not text:
        raise NotFound("function  not found")
    name = function_name(text, namespace)
    follow = _follow(_last(request, "follow"))
    return LogQuery(name, tail, since, follow, _last(request, "instance"))


async def function_logs(request: Request) -> Response:
    namespace = await owner_namespace(request)
    try:
        query = _query(request, namespace)
    except Unprocessable:
        return text_error("could not parse the log request", 422)
    sluice = engine(request)
    try:
        await sluice.actions.get(namespace, query.name)
    except (NotFound, BadRequest) as exc:
        raise NotFound(f"function {query.name} not found") from exc
    calls = CallFilter(namespace, path=query.name, since=query.since, limit=CALLS_MAX)
    seen: set[str] = set()

    async def ended() -> list[dict[str, Any]]:
        found = []
        for call in reversed(await sluice.calls.page(calls)):
            if call.id.uuid in seen or query.instance not in ("", call.id.uuid):
                continue
            seen.add(call.id.uuid)
            found.extend(messages(call, query.name, namespace))
        return found

    first = await ended()
    if query.tail > 0:
        first = first[-query.tail :]

    async def lines() -> AsyncIterator[bytes]:
        for message in first:
            yield orjson.dumps(message) + b"\n"
        if not query.follow:
            return
        stop = time.monotonic() + FOLLOW_SECONDS
        while time.monotonic() < stop and not await request.is_disconnected():
            await asyncio.sleep(POLL_SECONDS)
            for message in await ended():
                yield orjson.dumps(message) + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")
