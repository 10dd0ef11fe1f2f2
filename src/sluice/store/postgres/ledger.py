"""The call ledger on PostgreSQL: the calls table is the call ledger, leased with FOR UPDATE SKIP
LOCKED so that any number of worker processes on any hosts take each call once.

Two halves, kept apart on purpose:

- The ledger (every method but `take` and `announce`): the durable record of each accepted
  call, its idempotency key, callback and claim-check blob (`enqueue`), its state, attempts and
  lease (`claim`, `extend`, `nak`, `expired`, `recover`), its one outcome (`ack`, fenced on
  the attempt: a late ack from a lease that was lost changes nothing and returns False) and
  its callback's deliveries (`callbacks_due` etc., fenced the same way on their attempts).
- Delivery, how a worker learns that a call is ready: `take` (scan the ledger for visible
  queued calls, skipping those another worker is locking) and `announce` (told after each
  durable enqueue; nothing to do here, as `take` finds the rows).

A transport that delivers calls by message (NATS JetStream) subclasses this and replaces only
those two: `announce` publishes the new calls' ids, `take` pulls messages, asks `admit`, and
calls `claim` with the ids it got. `claim` is fenced on the call's state, so a redelivered
message whose call already finished (or is running elsewhere) leases nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from psycopg import errors

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.observe import metrics
from sluice.records import Callback, CallbackState, CallState, Lease, NewCall
from sluice.store.base import IDEMPOTENCY_MS, Candidate, Claim, DuplicateCall, Outcome
from sluice.store.choose import (
    NAMED_QUEUES,
    SCAN_NAMED,
    Key,
    Rows,
    after_sql,
    candidates_sql,
    choose,
    key_of,
    listing,
)
from sluice.store.postgres.db import Connection, PgDatabase
from sluice.store.rows import (
    CANDIDATE_COLUMNS,
    LEASE_COLUMNS,
    NEW_CALL_COLUMNS,
    call_touch,
    callback_from_row,
    callback_put_back,
    callback_retry,
    callback_settle,
    callbacks_claim,
    lease_from_row,
    new_call_row,
    queued_cancel,
)

#: a take's row lock: calls another worker is deciding on are its to take
_LOCK = " FOR UPDATE SKIP LOCKED"

_CALL_INSERT = (
    f"INSERT INTO calls ({NEW_CALL_COLUMNS}, owner)"
    f" VALUES ({', '.join(['%s'] * (len(NEW_CALL_COLUMNS.split(',')) + 1))})"
)

#: the outcome, fenced on the attempt; with it (one statement, one round trip) the call's
#: callback becomes due and, when the outcome says so, the call is kept as a dead letter
_ACK = """
WITH done AS (
    UPDATE calls SET state = %(state)s, started = coalesce(%(started)s, started),
        ended = %(ended)s, record = %(record)s, lease_until = NULL, owner = NULL
    WHERE id = %(id)s AND attempts = %(attempt)s AND state IN ('running', 'queued')
    RETURNING id, namespace, path
), due AS (
    UPDATE callbacks SET due = %(ended)s
    WHERE %(callback)s AND id IN (SELECT id FROM done) AND state = 'pending' AND due IS NULL
), letter AS (
    INSERT INTO dead_letters (id, namespace, path, reason, created)
    SELECT id, namespace, path, %(reason)s::text, %(ended)s FROM done
    WHERE %(reason)s::text IS NOT NULL
    ON CONFLICT (id) DO UPDATE SET namespace = excluded.namespace, path = excluded.path,
        reason = excluded.reason, created = excluded.created
)
SELECT count(*) FROM done
"""


class _Window:
    """A take's reads, in its transaction: with `lock`, each locks the rows it returns (none
    that another worker locks, none of a refused key)."""

    def __init__(
        self, conn: Connection, now_ms: int, lock: str = _LOCK, queues: list[str] | None = None
    ) -> None:
        self.conn = conn
        self.now_ms = now_ms
        self.lock = lock
        #: the named queues with queued calls, when known already
        self.queues = queues

    async def _rows(self, sql: str, args: Sequence[Any]) -> Rows:
        return await (await self.conn.execute(sql, args)).fetchall()

    async def oldest(self, count: int) -> Rows:
        return await self._rows(candidates_sql("%s", self.lock), (self.now_ms, count))

    async def rest(self, after: Sequence[Any], count: int, refused: list[Key]) -> Rows:
        # The window is read unlocked and its calls of refused keys dropped here; only the
        # others are locked, by id, and kept if still queued. (One statement doing both, or
        # a condition on the state here, lets the planner, when the table has no statistics
        # yet, pick a scan of every queued call instead of lookups by id.)
        window = await self._rows(after_sql("%s"), (after[7], after[0], self.now_ms, count))
        skip = set(refused)
        kept = [row for row in window if key_of(row) not in skip]
        if not kept or not self.lock:
            return kept
        ids = [row[0] for row in kept]
        locked = await self._rows(
            f"SELECT {CANDIDATE_COLUMNS}, visible_at, state FROM calls WHERE id = ANY(%s)"
            f" ORDER BY visible_at, id{self.lock}",
            (ids,),
        )
        return [row for row in locked if row[8] == "queued"]

    async def named(self) -> Rows:
        if self.queues is None:
            self.queues = [row[0] for row in await self._rows(f"SELECT {NAMED_QUEUES}", ())]
        rows: list[Any] = []
        head = candidates_sql("%s", self.lock, " AND queue_name = %s")
        for name in self.queues:
            rows += await self._rows(head, (name, self.now_ms, SCAN_NAMED))
        return rows


async def _claim_key(conn: Connection, call: NewCall) -> None:
    """Tie the call's idempotency key to it, unless a live earlier call holds the key."""
    cursor = await conn.execute(
        "INSERT INTO idempotency (namespace, key, id, created) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (namespace, key) DO UPDATE SET id = excluded.id,"
        " created = excluded.created WHERE idempotency.created < %s",
        (
            call.namespace,
            call.idempotency_key,
            call.id.raw,
            call.created,
            call.created - IDEMPOTENCY_MS,
        ),
    )
    if not cursor.rowcount:
        row = await (
            await conn.execute(
                "SELECT id FROM idempotency WHERE namespace = %s AND key = %s",
                (call.namespace, call.idempotency_key),
            )
        ).fetchone()
        assert row is not None  # the conflicting row is committed: that is why we waited
        raise DuplicateCall(CallId(bytes(row[0])))


async def _callback_due(conn: Connection, call_ids: Sequence[CallId], now_ms: int) -> None:
    """The calls have ended: their callbacks, if any, are due now."""
    await conn.execute(
        "UPDATE callbacks SET due = %s WHERE id = ANY(%s) AND state = 'pending' AND due IS NULL",
        (now_ms, [call_id.raw for call_id in call_ids]),
    )


class PostgresLedger:
    """The call ledger on PostgreSQL: the calls table is the queue (polled, or delivered by
    JetStream, whose deliveries `claim_ids` leases)."""

    def __init__(self, db: PgDatabase, node: str = "") -> None:
        self.db = db
        #: who holds the leases this queue takes: `recover` hands back only this node's
        self.node = node

    # The ledger -------------------------------------------------------------------------------
    async def enqueue(self, *calls: NewCall, durable: bool = True) -> None:
        rows = [
            (*new_call_row(call), self.node if call.lease_until is not None else None)
            for call in calls
        ]
        callbacks = [
            (call.id.raw, call.namespace, call.callback) for call in calls if call.callback
        ]
        blobs = [(call.id.raw, call.namespace, call.blob) for call in calls if call.blob]
        keyed = [call for call in calls if call.idempotency_key]
        began = time.perf_counter()
        try:
            if len(rows) == 1 and not (keyed or callbacks or blobs):
                # the common accept: one statement, its own transaction (one round trip)
                await self.db.execute(_CALL_INSERT, rows[0], durable)
            else:
                await self._insert(keyed, rows, callbacks, blobs, durable)
        except errors.UniqueViolation as exc:
            raise Conflict("a call with that id exists already") from exc
        mode = "postgres_durable" if durable else "postgres_relaxed"
        metrics.store_committed(mode, time.perf_counter() - began)
        await self.announce(calls)

    async def make_durable(self, call_id: CallId) -> None:
        await self.db.execute(*call_touch("%s", call_id))

    async def _insert(
        self,
        keyed: list[NewCall],
        rows: list[tuple[Any, ...]],
        callbacks: list[tuple[Any, ...]],
        blobs: list[tuple[Any, ...]],
        durable: bool,
    ) -> None:
        """Accepted calls with their keys, callbacks and blobs, in one transaction."""
        async with self.db.connection(durable) as conn, conn.transaction():
            for call in keyed:
                await _claim_key(conn, call)
            async with conn.cursor() as cursor:
                await cursor.executemany(_CALL_INSERT, rows)
                if callbacks:
                    await cursor.executemany(
                        "INSERT INTO callbacks (id, namespace, url) VALUES (%s, %s, %s)",
                        callbacks,
                    )
                if blobs:
                    await cursor.executemany(
                        "INSERT INTO blobs (id, namespace, data) VALUES (%s, %s, %s)", blobs
                    )

    async def claim(self, ids: Sequence[CallId], now_ms: int, lease_ms: int) -> list[Lease]:
        """Lease these calls if they are still queued (in the order given); the rest are
        running elsewhere or finished, and are skipped."""
        async with self.db.connection(durable=False) as conn:
            return await self._claim(conn, ids, now_ms, lease_ms)

    async def _claim(
        self, conn: Connection, ids: Sequence[CallId], now_ms: int, lease_ms: int
    ) -> list[Lease]:
        if not ids:
            return []
        cursor = await conn.execute(
            "UPDATE calls SET state = 'running', attempts = attempts + 1, started = %s,"
            " lease_until = %s, owner = %s WHERE id = ANY(%s) AND state = 'queued'"
            f" RETURNING {LEASE_COLUMNS}",
            (now_ms, now_ms + lease_ms, self.node, [call_id.raw for call_id in ids]),
        )
        leases = {lease.id: lease for lease in map(lease_from_row, await cursor.fetchall())}
        return [leases[call_id] for call_id in ids if call_id in leases]

    async def extend(self, leases: list[Lease], until_ms: int) -> None:
        if not leases:
            return
        async with self.db.connection(durable=False) as conn, conn.cursor() as cursor:
            await cursor.executemany(
                "UPDATE calls SET lease_until = %s WHERE id = %s AND attempts = %s"
                " AND state = 'running'",
                [(until_ms, lease.id.raw, lease.attempt) for lease in leases],
            )

    async def ack(self, lease: Lease, outcome: Outcome) -> bool:
        row = await self.db.fetchone(
            _ACK,
            {
                "state": outcome.state.value,
                "started": outcome.started,
                "ended": outcome.ended,
                "record": orjson.dumps(outcome.record),
                "id": lease.id.raw,
                "attempt": lease.attempt,
                "reason": outcome.dead_letter,
                "callback": lease.callback,
            },
            durable=False,
        )
        return bool(row and row[0])

    async def nak(self, lease: Lease, visible_at: int) -> bool:
        released = await self.db.execute(
            "UPDATE calls SET state = 'queued', visible_at = %s, lease_until = NULL, owner = NULL"
            " WHERE id = %s AND attempts = %s AND state = 'running'",
            (visible_at, lease.id.raw, lease.attempt),
            durable=False,
        )
        return released > 0

    async def cancel_queued(
        self,
        namespace: str,
        outcome: Outcome,
        call_id: CallId | None = None,
        path: str | None = None,
    ) -> list[CallId]:
        record = orjson.dumps(outcome.record)
        sql, args = queued_cancel(
            "%s", namespace, outcome.state, outcome.ended, record, call_id, path
        )
        async with self.db.connection() as conn, conn.transaction():
            cursor = await conn.execute(sql, args)
            ended = [CallId(bytes(row[0])) for row in await cursor.fetchall()]
            if ended:
                await _callback_due(conn, ended, outcome.ended)
            return ended

    async def expired(self, now_ms: int, limit: int) -> list[Lease]:
        rows = await self.db.fetchall(
            f"SELECT {LEASE_COLUMNS} FROM calls WHERE state = 'running'"
            " AND lease_until < %s ORDER BY lease_until LIMIT %s",
            (now_ms, limit),
        )
        return [lease_from_row(r) for r in rows]

    async def recover(self) -> list[Lease]:
        """This node's running calls: those other hosts run are theirs to finish."""
        rows = await self.db.fetchall(
            f"SELECT {LEASE_COLUMNS} FROM calls WHERE state = 'running' AND owner = %s",
            (self.node,),
        )
        return [lease_from_row(r) for r in rows]

    async def queued(self, now_ms: int, limit: int) -> list[Candidate]:
        async with self.db.connection(durable=False) as conn:
            return await listing(_Window(conn, now_ms, lock=""), limit)

    async def callbacks_due(self, now_ms: int, lease_ms: int, limit: int) -> list[Callback]:
        sql, args = callbacks_claim("%s", _LOCK, now_ms, lease_ms, limit)
        rows = await self.db.fetchall(sql, args, durable=False)
        return sorted(map(callback_from_row, rows), key=lambda callback: callback.id.raw)

    async def retry_callback(
        self, callback: Callback, due_ms: int, status: int | None, error: str | None
    ) -> None:
        await self.db.execute(*callback_retry("%s", callback, due_ms, status, error), durable=False)

    async def put_back_callback(self, callback: Callback, due_ms: int) -> None:
        await self.db.execute(*callback_put_back("%s", callback, due_ms), durable=False)

    async def settle_callback(
        self,
        callback: Callback,
        state: CallbackState,
        status: int | None,
        error: str | None,
        now_ms: int,
    ) -> None:
        await self.db.execute(
            *callback_settle("%s", callback, state, status, error, now_ms), durable=False
        )

    # Delivery ---------------------------------------------------------------------------------
    async def announce(self, calls: Sequence[NewCall]) -> None:
        """Newly accepted calls are in the ledger: `take` finds them, so nothing to send."""

    async def take(
        self, now_ms: int, lease_ms: int, limit: int, admit: Callable[[Candidate], bool]
    ) -> list[Lease]:
        # most wakes find nothing (calls accepted straight into a lease): one round trip,
        # which also names the named queues (most takes never look at them; a queue named
        # after this look waits for the next take)
        visible = await self.db.fetchone(
            "SELECT EXISTS (SELECT 1 FROM calls WHERE state = 'queued' AND visible_at <= %s),"
            f" ARRAY(SELECT {NAMED_QUEUES})",
            (now_ms,),
            durable=False,
        )
        if not visible or not visible[0]:
            return []
        async with self.db.connection(durable=False) as conn, conn.transaction():
            chosen = await choose(_Window(conn, now_ms, queues=visible[1]), limit, admit)
            return await self._claim(conn, [CallId(raw) for raw in chosen], now_ms, lease_ms)

    async def claim_ids(self, ids: Sequence[CallId], now_ms: int, lease_ms: int) -> Claim:
        rows = await self.db.fetchall(
            "SELECT id, state, visible_at, lease_until FROM calls WHERE id = ANY(%s)",
            ([call_id.raw for call_id in ids],),
            durable=False,
        )
        found = {bytes(row[0]): row for row in rows}
        out = Claim()
        runnable = []
        for call_id in ids:
            row = found.get(call_id.raw)
            if row is None or CallState(row[1]).terminal:
                out.finished.append(call_id)
            elif row[1] == CallState.QUEUED and row[2] <= now_ms:
                runnable.append(call_id)
            else:
                out.later[call_id] = row[2] if row[1] == CallState.QUEUED else row[3] or now_ms
        out.leases.extend(await self.claim(runnable, now_ms, lease_ms))
        leased = {lease.id for lease in out.leases}
        for call_id in runnable:  # taken by another worker meanwhile
            if call_id not in leased:
                out.later[call_id] = now_ms + lease_ms
        return out
