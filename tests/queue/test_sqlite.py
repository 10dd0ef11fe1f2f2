"""The SQLite queue on a real file: durable accept, leases, fencing, recovery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.queue.base import Candidate, Outcome
from sluice.queue.sqlite import SqliteQueue
from sluice.records import CallState, NewCall
from sluice.store.sqlite import SqliteStore
from sluice.store.sqlite_db import Database
from sluice.worker.capacity import Capacity


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


def _counted(capacity: Capacity, offered: list[Candidate]) -> Callable[[Candidate], bool]:
    """The worker's admission, noting each candidate the queue offers it."""

    def admit(candidate: Candidate) -> bool:
        offered.append(candidate)
        return capacity.admit(candidate)

    return admit


def test_a_namespace_at_its_cap_hides_neither_the_calls_behind_it_nor_reads_its_backlog(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue = SqliteQueue(db)
        busy = [_call("busy", at=1000 + i) for i in range(100)]
        capped = NewCall(CallId.new(), "other", "capped", {}, {}, 256, 1100, 1100, fn_limit=1)
        others = [_call("other", at=1101 + i) for i in range(3)]
        await queue.enqueue(*busy, capped, *others)
        capacity, offered = Capacity(100_000, per_namespace=5), list[Candidate]()
        capacity.admit(Candidate(CallId.new(), "other", 256, "capped", fn_limit=1))  # running
        leases = await queue.take(5000, 1000, 32, _counted(capacity, offered))
        # oldest first: the cap's worth of `busy`, then `other` past its capped function
        assert [lease.id for lease in leases] == [c.id for c in busy[:5]] + [
            c.id for c in others[:3]
        ]
        # one refusal of each (namespace, function) is enough: the rest of `busy` is skipped
        assert len(offered) == 5 + 1 + 1 + 3
        await db.close()

    asyncio.run(scenario())


def test_a_named_queue_past_a_capped_backlog_is_taken(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue = SqliteQueue(db)
        busy = [_call("busy", at=1000 + i) for i in range(400)]
        named = NewCall(CallId.new(), "other", "slow", {}, {}, 256, 2000, 2000, queue_name="q")
        await queue.enqueue(*busy, named)
        capacity, offered = Capacity(100_000, per_namespace=2), list[Candidate]()
        leases = await queue.take(5000, 1000, 32, _counted(capacity, offered))
        assert [lease.id for lease in leases] == [busy[0].id, busy[1].id, named.id]
        assert len(offered) == 4
        # what admission lets through is still taken oldest first, a page at a time
        capacity = Capacity(100_000, per_namespace=1000)
        leases = await queue.take(5000, 1000, 32, _counted(capacity, offered))
        assert [lease.id for lease in leases] == [c.id for c in busy[2:34]]
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
