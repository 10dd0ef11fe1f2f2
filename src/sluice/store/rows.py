"""What the SQL stores share: rows to records, the WHERE clauses of listings, and the
statements that are the same on both but for the parameter mark.

The clauses and statements take the driver's parameter mark ("?" for sqlite3, "%s" for
psycopg); a statement comes with its arguments, as (sql, args)."""

from __future__ import annotations

from typing import Any

import orjson

from sluice import call_meta
from sluice.ids import CallId
from sluice.observe import trace
from sluice.records import (
    Call,
    Callback,
    CallbackState,
    CallState,
    Entity,
    Lease,
    Namespace,
    NewCall,
)
from sluice.store.base import CallFilter

CALL_COLUMNS = (
    "id, namespace, path, state, params, meta, memory_mb, created, started, ended, attempts,"
    " record, traceparent, trace_parent"
)
CALLBACK_COLUMNS = "id, namespace, url, state, attempts, due, last_status, last_error, settled"
ENTITY_COLUMNS = "namespace, collection, name, version, updated, doc"
NAMESPACE_COLUMNS = "name, uuid, key_hash, generation, created"
LEASE_COLUMNS = (
    "id, namespace, path, attempts, params, meta, memory_mb, created, started, queue_name,"
    " fn_limit, concurrency, traceparent, trace_parent,"
    # whether its ack has a callback to make due (inserted with the call, never later)
    " EXISTS (SELECT 1 FROM callbacks WHERE callbacks.id = calls.id)"
)
CANDIDATE_COLUMNS = "id, namespace, memory_mb, path, queue_name, fn_limit, concurrency"
#: the columns of `new_call_row`, in its order
NEW_CALL_COLUMNS = (
    "id, namespace, path, state, params, meta, memory_mb, created, visible_at, ended, record,"
    " attempts, started, lease_until, queue_name, fn_limit, concurrency, traceparent, trace_parent"
)
#: the tables whose rows belong to a namespace (deleted with it), entities and calls first
NAMESPACE_TABLES = ("entities", "calls", "callbacks", "idempotency", "dead_letters", "blobs")


def call_from_row(row: tuple[Any, ...]) -> Call:
    return Call(
        id=CallId(bytes(row[0])),
        namespace=row[1],
        path=row[2],
        state=CallState(row[3]),
        params=orjson.loads(row[4]),
        meta=call_meta.decode(orjson.loads(row[5])),
        memory_mb=row[6],
        created=row[7],
        started=row[8],
        ended=row[9],
        attempts=row[10],
        record=orjson.loads(row[11]) if row[11] is not None else None,
        trace=trace.decode(row[12], row[13]),
    )


def callback_from_row(row: tuple[Any, ...]) -> Callback:
    return Callback(
        id=CallId(bytes(row[0])),
        namespace=row[1],
        url=row[2],
        state=CallbackState(row[3]),
        attempts=row[4],
        due=row[5],
        last_status=row[6],
        last_error=row[7],
        settled=row[8],
    )


def lease_from_row(row: tuple[Any, ...]) -> Lease:
    return Lease(
        id=CallId(bytes(row[0])),
        namespace=row[1],
        path=row[2],
        attempt=row[3],
        params=orjson.loads(row[4]),
        meta=call_meta.decode(orjson.loads(row[5])),
        memory_mb=row[6],
        created=row[7],
        started=row[8],
        queue_name=row[9],
        fn_limit=row[10],
        concurrency=row[11],
        trace=trace.decode(row[12], row[13]),
        callback=bool(row[14]),
    )


def new_call_row(call: NewCall) -> tuple[Any, ...]:
    """The values of an accepted call's row (NEW_CALL_COLUMNS)."""
    return (
        call.id.raw,
        call.namespace,
        call.path,
        call.state.value,
        orjson.dumps(call.params),
        orjson.dumps(call_meta.encode(call.meta)),
        call.memory_mb,
        call.created,
        call.visible_at,
        call.ended,
        orjson.dumps(call.record) if call.record is not None else None,
        call.attempts,
        call.created if call.lease_until is not None else None,
        call.lease_until,
        call.queue_name,
        call.fn_limit,
        call.concurrency,
        *trace.encode(call.trace),
    )


def entity_from_row(row: tuple[Any, ...]) -> Entity:
    return Entity(row[0], row[1], row[2], row[3], row[4], orjson.loads(row[5]))


def namespace_from_row(row: tuple[Any, ...]) -> Namespace:
    return Namespace(row[0], row[1], row[2], row[3], row[4])


def like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def entity_where(
    mark: str, namespace: str, collection: str, prefix: str | None
) -> tuple[str, list[Any]]:
    where = f"namespace = {mark} AND collection = {mark}"
    args: list[Any] = [namespace, collection]
    if prefix is not None:
        where += f" AND name LIKE {mark} ESCAPE '\\'"
        args.append(like_prefix(prefix))
    return where, args


def call_where(mark: str, query: CallFilter) -> tuple[str, list[Any]]:
    where = [f"namespace = {mark}"]
    args: list[Any] = [query.namespace]
    if query.path is not None:
        where.append(f"path = {mark}")
        args.append(query.path)
    if query.prefix is not None:
        where.append(f"path LIKE {mark} ESCAPE '\\'")
        args.append(like_prefix(query.prefix))
    if query.before is not None:
        where.append(f"id < {mark}")
        args.append(query.before.raw)
    if query.terminal_only:
        where.append("state NOT IN ('queued', 'running')")
    if query.live_only:
        where.append("state IN ('queued', 'running')")
    if query.state is not None:
        where.append(f"state = {mark}")
        args.append(query.state)
    if query.since is not None:
        where.append(f"coalesce(started, created) >= {mark}")
        args.append(query.since)
    if query.upto is not None:
        where.append(f"coalesce(started, created) <= {mark}")
        args.append(query.upto)
    return " AND ".join(where), args


def dead_letter_where(
    mark: str, namespace: str, path: str | None, call_id: CallId | None
) -> tuple[str, list[Any]]:
    where = f"namespace = {mark}"
    args: list[Any] = [namespace]
    if path is not None:
        where += f" AND path = {mark}"
        args.append(path)
    if call_id is not None:
        where += f" AND id = {mark}"
        args.append(call_id.raw)
    return where, args


Statement = tuple[str, tuple[Any, ...]]


def call_touch(mark: str, call_id: CallId) -> Statement:
    """A write that changes nothing in the call's row yet commits its page: made durable,
    such a commit makes every commit before it durable too (Queue.make_durable)."""
    return f"UPDATE calls SET created = created WHERE id = {mark}", (call_id.raw,)


def callbacks_claim(mark: str, lock: str, now_ms: int, lease_ms: int, limit: int) -> Statement:
    """Claim up to `limit` callbacks due by `now_ms`, oldest first: each one's attempts go up
    by one and it is hidden for `lease_ms`. `lock` is the driver's row lock for the choice
    (so that senders on several hosts claim each once), if it needs one."""
    return (
        f"UPDATE callbacks SET due = {mark}, attempts = attempts + 1 WHERE id IN"
        f" (SELECT id FROM callbacks WHERE due IS NOT NULL AND due <= {mark}"
        f" ORDER BY due LIMIT {mark}{lock}) RETURNING {CALLBACK_COLUMNS}",
        (now_ms + lease_ms, now_ms, limit),
    )


def callback_retry(
    mark: str, callback: Callback, due_ms: int, status: int | None, error: str | None
) -> Statement:
    """The try `callback.attempts` failed: due again at `due_ms` (fenced on that try)."""
    return (
        f"UPDATE callbacks SET due = {mark}, last_status = {mark}, last_error = {mark}"
        f" WHERE id = {mark} AND attempts = {mark} AND state = 'pending'",
        (due_ms, status, error, callback.id.raw, callback.attempts),
    )


def callback_put_back(mark: str, callback: Callback, due_ms: int) -> Statement:
    """The try `callback.attempts` was claimed but not made (its destination was busy): due
    again at `due_ms`, the try not counted (fenced on it)."""
    return (
        f"UPDATE callbacks SET due = {mark}, attempts = attempts - 1"
        f" WHERE id = {mark} AND attempts = {mark} AND state = 'pending'",
        (due_ms, callback.id.raw, callback.attempts),
    )


def callback_settle(
    mark: str,
    callback: Callback,
    state: CallbackState,
    status: int | None,
    error: str | None,
    now_ms: int,
) -> Statement:
    """Delivered, or failed for good, by the try `callback.attempts` (fenced on it)."""
    return (
        f"UPDATE callbacks SET state = {mark}, due = NULL, last_status = {mark},"
        f" last_error = {mark}, settled = {mark} WHERE id = {mark} AND attempts = {mark}"
        " AND state = 'pending'",
        (state.value, status, error, now_ms, callback.id.raw, callback.attempts),
    )


def queued_cancel(
    mark: str,
    namespace: str,
    state: CallState,
    ended: int,
    record: bytes,
    call_id: CallId | None,
    path: str | None,
) -> Statement:
    """End the namespace's queued calls (the one `call_id`, or all of `path`), returning
    their ids."""
    if call_id is None and path is None:
        raise ValueError("cancel_queued needs a call id or a path")
    where, key = (f"id = {mark}", call_id.raw) if call_id is not None else (f"path = {mark}", path)
    return (
        f"UPDATE calls SET state = {mark}, ended = {mark}, record = {mark}"
        f" WHERE namespace = {mark} AND state = 'queued' AND {where} RETURNING id",
        (state.value, ended, record, namespace, key),
    )


#: the calls ended before a time, oldest first (the records `prune_calls` forgets)
def ended_calls_sql(mark: str) -> str:
    return (
        f"SELECT id FROM calls WHERE ended < {mark} AND state NOT IN ('queued', 'running')"
        f" ORDER BY ended LIMIT {mark}"
    )


#: what a call leaves beside its row, by the call's id
CALL_SIDE_TABLES = ("callbacks", "blobs", "dead_letters", "idempotency", "calls")
