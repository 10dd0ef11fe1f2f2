"""The call ledger on SQLite: the calls table is the queue; a lease is `state = 'running'` with
`lease_until`, fenced on `attempts`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import Callback, CallbackState, CallState, Lease, NewCall
from sluice.store.base import IDEMPOTENCY_MS, Candidate, Claim, DuplicateCall, Outcome
from sluice.store.choose import (
    NAMED_QUEUES,
    SCAN_NAMED,
    Key,
    LookAhead,
    Rows,
    after_sql,
    candidates_sql,
    choose,
    listing,
    skip_refused,
)
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
from sluice.store.sqlite.db import Database

#: a parameter mark for each of NEW_CALL_COLUMNS
_MARKS = ", ".join(["?"] * len(NEW_CALL_COLUMNS.split(",")))


class _Window:
    """A take's reads, on the queue's reader connection."""

    def __init__(
        self, reader: sqlite3.Connection, now_ms: int, look_ahead: LookAhead | None = None
    ) -> None:
        self.reader = reader
        self.now_ms = now_ms
        self.look_ahead = look_ahead

    async def oldest(self, count: int) -> Rows:
        return self.reader.execute(candidates_sql("?", ""), (self.now_ms, count)).fetchall()

    async def rest(self, after: Sequence[Any], count: int, refused: list[Key]) -> Rows:
        if self.look_ahead is not None and self.look_ahead.known_refused(after, refused):
            return []
        window = [after[7], after[0], self.now_ms, count]
        skip, skip_args = skip_refused("?", refused)
        rows = self.reader.execute(
            f"SELECT {CANDIDATE_COLUMNS}, visible_at FROM ({after_sql('?')})"
            f" WHERE 1{skip} ORDER BY visible_at, id",
            [*window, *skip_args],
        ).fetchall()
        if not rows and self.look_ahead is not None:
            end = self.reader.execute(
                f"SELECT visible_at, id FROM ({after_sql('?')})"
                " ORDER BY visible_at DESC, id DESC LIMIT 1",
                window,
            ).fetchone()
            if end is not None:
                self.look_ahead.remember(after, (end[0], bytes(end[1])), refused)
        return rows

    async def named(self) -> Rows:
        rows: list[Any] = []
        head = candidates_sql("?", "", " AND queue_name = ?")
        for (name,) in self.reader.execute(f"SELECT {NAMED_QUEUES}").fetchall():
            rows += self.reader.execute(head, (name, self.now_ms, SCAN_NAMED)).fetchall()
        return rows


def _claim_key(conn: sqlite3.Connection, call: NewCall) -> None:
    """Tie the call's idempotency key to it, unless a live earlier call holds the key."""
    claimed = conn.execute(
        "INSERT INTO idempotency (namespace, key, id, created) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (namespace, key) DO UPDATE SET id = excluded.id,"
        " created = excluded.created WHERE idempotency.created < ?",
        (
            call.namespace,
            call.idempotency_key,
            call.id.raw,
            call.created,
            call.created - IDEMPOTENCY_MS,
        ),
    ).rowcount
    if not claimed:
        row = conn.execute(
            "SELECT id FROM idempotency WHERE namespace = ? AND key = ?",
            (call.namespace, call.idempotency_key),
        ).fetchone()
        raise DuplicateCall(CallId(row[0]))


def _callback_due(conn: sqlite3.Connection, call_id: CallId, now_ms: int) -> None:
    """The call has ended: its callback, if any, is due now."""
    conn.execute(
        "UPDATE callbacks SET due = ? WHERE id = ? AND state = 'pending' AND due IS NULL",
        (now_ms, call_id.raw),
    )


class SqliteLedger:
    def __init__(self, db: Database) -> None:
        self.db = db
        #: what the last fruitless look past a take's first page found (store/choose.py)
        self._look_ahead = LookAhead()

    async def enqueue(self, *calls: NewCall, durable: bool = True) -> None:
        rows = [new_call_row(call) for call in calls]

        callbacks = [
            (call.id.raw, call.namespace, call.callback) for call in calls if call.callback
        ]

        keyed = [call for call in calls if call.idempotency_key]
        blobs = [(call.id.raw, call.namespace, call.blob) for call in calls if call.blob]

        def insert(conn: sqlite3.Connection) -> None:
            for call in keyed:
                _claim_key(conn, call)
            try:
                conn.executemany(
                    f"INSERT INTO calls ({NEW_CALL_COLUMNS}) VALUES ({_MARKS})",
                    rows,
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("a call with that id exists already") from exc
            if callbacks:
                conn.executemany(
                    "INSERT INTO callbacks (id, namespace, url) VALUES (?, ?, ?)", callbacks
                )
            if blobs:
                conn.executemany("INSERT INTO blobs (id, namespace, data) VALUES (?, ?, ?)", blobs)

        try:
            await self.db.write(insert, durable)
        finally:  # once they are committed (or not), a take's next look must see them
            self._look_ahead.queued(calls)

    async def make_durable(self, call_id: CallId) -> None:
        sql, args = call_touch("?", call_id)
        await self.db.write(lambda conn: conn.execute(sql, args))

    async def take(
        self, now_ms: int, lease_ms: int, limit: int, admit: Callable[[Candidate], bool]
    ) -> list[Lease]:
        chosen = await choose(_Window(self.db.reader, now_ms, self._look_ahead), limit, admit)
        if not chosen:
            return []

        def claim(conn: sqlite3.Connection) -> list[Lease]:
            leases = []
            for raw in chosen:
                row = conn.execute(
                    "UPDATE calls SET state = 'running', attempts = attempts + 1,"
                    " started = ?, lease_until = ? WHERE id = ? AND state = 'queued'"
                    f" RETURNING {LEASE_COLUMNS}",
                    (now_ms, now_ms + lease_ms, raw),
                ).fetchone()
                if row is not None:
                    leases.append(lease_from_row(row))
            return leases

        return await self.db.write(claim, durable=False)

    async def claim_ids(self, ids: Sequence[CallId], now_ms: int, lease_ms: int) -> Claim:
        def lease(conn: sqlite3.Connection) -> Claim:
            out = Claim()
            for call_id in ids:
                row = conn.execute(
                    "UPDATE calls SET state = 'running', attempts = attempts + 1,"
                    " started = ?, lease_until = ? WHERE id = ? AND state = 'queued'"
                    f" AND visible_at <= ? RETURNING {LEASE_COLUMNS}",
                    (now_ms, now_ms + lease_ms, call_id.raw, now_ms),
                ).fetchone()
                if row is not None:
                    out.leases.append(lease_from_row(row))
                    continue
                found = conn.execute(
                    "SELECT state, visible_at, lease_until FROM calls WHERE id = ?",
                    (call_id.raw,),
                ).fetchone()
                if found is None or CallState(found[0]).terminal:
                    out.finished.append(call_id)
                elif found[0] == CallState.QUEUED:
                    out.later[call_id] = found[1]
                else:
                    out.later[call_id] = found[2] or now_ms + lease_ms
            return out

        return await self.db.write(lease, durable=False)

    async def queued(self, now_ms: int, limit: int) -> list[Candidate]:
        return await listing(_Window(self.db.reader, now_ms), limit)

    async def extend(self, leases: list[Lease], until_ms: int) -> None:
        if not leases:
            return
        args = [(until_ms, lease.id.raw, lease.attempt) for lease in leases]
        await self.db.write(
            lambda conn: conn.executemany(
                "UPDATE calls SET lease_until = ? WHERE id = ? AND attempts = ?"
                " AND state = 'running'",
                args,
            ),
            durable=False,
        )

    async def ack(self, lease: Lease, outcome: Outcome) -> bool:
        record = orjson.dumps(outcome.record)

        def finish(conn: sqlite3.Connection) -> bool:
            finished = (
                conn.execute(
                    "UPDATE calls SET state = ?, started = coalesce(?, started), ended = ?,"
                    " record = ?, lease_until = NULL"
                    " WHERE id = ? AND attempts = ? AND state IN ('running', 'queued')",
                    (
                        outcome.state.value,
                        outcome.started,
                        outcome.ended,
                        record,
                        lease.id.raw,
                        lease.attempt,
                    ),
                ).rowcount
                > 0
            )
            if finished and lease.callback:  # no UPDATE that can find no row
                _callback_due(conn, lease.id, outcome.ended)
            if finished and outcome.dead_letter is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO dead_letters (id, namespace, path, reason,"
                    " created) VALUES (?, ?, ?, ?, ?)",
                    (
                        lease.id.raw,
                        lease.namespace,
                        lease.path,
                        outcome.dead_letter,
                        outcome.ended,
                    ),
                )
            return finished

        return await self.db.write(finish, durable=False)

    async def nak(self, lease: Lease, visible_at: int) -> bool:
        def release(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "UPDATE calls SET state = 'queued', visible_at = ?, lease_until = NULL"
                    " WHERE id = ? AND attempts = ? AND state = 'running'",
                    (visible_at, lease.id.raw, lease.attempt),
                ).rowcount
                > 0
            )

        try:
            return await self.db.write(release, durable=False)
        finally:  # back in the queue, maybe inside a window looked at already
            self._look_ahead.forget()

    async def cancel_queued(
        self,
        namespace: str,
        outcome: Outcome,
        call_id: CallId | None = None,
        path: str | None = None,
    ) -> list[CallId]:
        record = orjson.dumps(outcome.record)
        sql, args = queued_cancel(
            "?", namespace, outcome.state, outcome.ended, record, call_id, path
        )

        def cancel(conn: sqlite3.Connection) -> list[CallId]:
            rows = conn.execute(sql, args).fetchall()
            ended = [CallId(row[0]) for row in rows]
            for one in ended:
                _callback_due(conn, one, outcome.ended)
            return ended

        return await self.db.write(cancel)

    async def expired(self, now_ms: int, limit: int) -> list[Lease]:
        rows = self.db.reader.execute(
            f"SELECT {LEASE_COLUMNS} FROM calls WHERE state = 'running'"
            " AND lease_until < ? ORDER BY lease_until LIMIT ?",
            (now_ms, limit),
        ).fetchall()
        return [lease_from_row(r) for r in rows]

    async def recover(self) -> list[Lease]:
        rows = self.db.reader.execute(
            f"SELECT {LEASE_COLUMNS} FROM calls WHERE state = 'running'"
        ).fetchall()
        return [lease_from_row(r) for r in rows]

    async def callbacks_due(self, now_ms: int, lease_ms: int, limit: int) -> list[Callback]:
        if (
            self.db.reader.execute(
                "SELECT 1 FROM callbacks WHERE due IS NOT NULL AND due <= ? LIMIT 1", (now_ms,)
            ).fetchone()
            is None
        ):
            return []
        sql, args = callbacks_claim("?", "", now_ms, lease_ms, limit)
        rows = await self.db.write(lambda conn: conn.execute(sql, args).fetchall(), durable=False)
        return [callback_from_row(row) for row in rows]

    async def retry_callback(
        self, callback: Callback, due_ms: int, status: int | None, error: str | None
    ) -> None:
        sql, args = callback_retry("?", callback, due_ms, status, error)
        await self.db.write(lambda conn: conn.execute(sql, args), durable=False)

    async def put_back_callback(self, callback: Callback, due_ms: int) -> None:
        sql, args = callback_put_back("?", callback, due_ms)
        await self.db.write(lambda conn: conn.execute(sql, args), durable=False)

    async def settle_callback(
        self,
        callback: Callback,
        state: CallbackState,
        status: int | None,
        error: str | None,
        now_ms: int,
    ) -> None:
        sql, args = callback_settle("?", callback, state, status, error, now_ms)
        await self.db.write(lambda conn: conn.execute(sql, args), durable=False)
