"""The SQLite queue on a real file: durable accept, leases, fencing, recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.queue.base import Candidate, Outcome
from sluice.queue.choose import after_sql, candidates_sql, skip_refused
from sluice.queue.sqlite import SqliteQueue
from sluice.records import CallState, NewCall
from sluice.store.rows import CANDIDATE_COLUMNS
from sluice.store.sqlite import SqliteStore
from sluice.store.sqlite_db import Database, apply_schema


def _call(namespace: str = "ns", memory: int = 256, at: int = 1000) -> NewCall:
    return NewCall(CallId.new(), namespace, "act", {"a": 1}, {}, memory, at, at)


def _admit_all(candidate: Candidate) -> bool:
    return True


def test_accepted_calls_survive_reopen_and_lease_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue = SqliteQueue(db)
        calls = [_call() for _ in range(20)]
        await asyncio.gather(*(queue.enqueue(c) for c in calls))  # one group commit
        await db.close()

        db = Database(tmp_path / "q.db")
        await db.open()
        queue = SqliteQueue(db)
        leases = await queue.take(2000, 1000, 100, _admit_all)
        assert [lease.id for lease in leases] == [c.id for c in calls]
        assert all(lease.attempt == 1 for lease in leases)
        assert await queue.take(2000, 1000, 100, _admit_all) == []
        await db.close()

    asyncio.run(scenario())


def test_ack_is_fenced_on_the_attempt(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue, store = SqliteQueue(db), SqliteStore(db)
        call = _call()
        await queue.enqueue(call)
        [first] = await queue.take(2000, 100, 1, _admit_all)
        # the lease runs out; the call is given to someone else
        assert [lease.id for lease in await queue.expired(5000, 10)] == [call.id]
        assert await queue.nak(first, 5000)
        [second] = await queue.take(5000, 100, 1, _admit_all)
        assert second.attempt == 2
        done = Outcome(CallState.SUCCESS, {"result": {"who": "first"}}, 6000)
        assert not await queue.ack(first, done)  # the stale holder writes nothing
        assert await queue.ack(second, Outcome(CallState.SUCCESS, {"result": {}}, 6000))
        stored = await store.get_call(call.id)
        assert stored is not None
        assert stored.state is CallState.SUCCESS
        assert stored.record == {"result": {}}
        await db.close()

    asyncio.run(scenario())


def test_admission_skips_calls_that_do_not_fit(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue = SqliteQueue(db)
        busy, other = _call("busy"), _call("other")
        await queue.enqueue(busy)
        await queue.enqueue(other)
        leases = await queue.take(2000, 1000, 10, lambda c: c.namespace == "other")
        assert [lease.id for lease in leases] == [other.id]
        await db.close()

    asyncio.run(scenario())


def test_a_failing_write_does_not_undo_its_batch_neighbours(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue, store = SqliteQueue(db), SqliteStore(db)
        call = _call()
        duplicate = queue.enqueue(call)
        results = await asyncio.gather(
            queue.enqueue(call),
            duplicate,
            queue.enqueue(good := _call()),
            return_exceptions=True,
        )
        assert sum(isinstance(r, Exception) for r in results) == 1
        assert await store.get_call(good.id) is not None
        await db.close()

    asyncio.run(scenario())


def test_a_failing_write_alone_leaves_nothing_behind(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue, store = SqliteQueue(db), SqliteStore(db)
        call = _call()
        await queue.enqueue(call)
        other = _call()
        with pytest.raises(Conflict):
            await queue.enqueue(other, call)  # the second row collides: all or none
        assert await store.get_call(other.id) is None
        await queue.enqueue(other)  # the writer is still fine afterwards
        assert await store.get_call(other.id) is not None
        await db.close()

    asyncio.run(scenario())


def test_a_take_reads_the_queue_index_alone_also_in_a_file_from_before_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.db"
    with sqlite3.connect(path) as old:  # the queue index of earlier releases
        apply_schema(old)
        old.execute("DROP INDEX calls_queued_keys")
        old.execute("CREATE INDEX calls_queued ON calls (visible_at, id) WHERE state = 'queued'")

    async def plans() -> tuple[set[str], list[str]]:
        db = Database(path)
        await db.open()
        try:
            indexes = {
                row[0]
                for row in db.reader.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'"
                )
            }
            skip, skip_args = skip_refused("?", [("ns", "act", 256, "", 0, 1)])
            reads = [
                (candidates_sql("?", ""), (2000, 32)),
                (
                    f"SELECT {CANDIDATE_COLUMNS} FROM ({after_sql('?')}) WHERE 1{skip}",
                    (1000, b"x", 2000, 224, *skip_args),
                ),
            ]
            details = [
                " ".join(
                    str(row[3]) for row in db.reader.execute(f"EXPLAIN QUERY PLAN {sql}", args)
                )
                for sql, args in reads
            ]
            return indexes, details
        finally:
            await db.close()

    indexes, details = asyncio.run(plans())
    assert "calls_queued" not in indexes
    assert "calls_queued_keys" in indexes
    for detail in details:  # no look-up of a call's row: the index answers
        assert "COVERING INDEX calls_queued_keys" in detail, detail
