"""A take's choice of calls, the same on each SQL queue (a SQLite file, a PostgreSQL
database), with the worker's real Capacity as admission: oldest first, and a namespace,
function or queue at its cap neither hides the calls behind it nor has its backlog read
row by row."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.store.conftest import Run

from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.queue.base import Queue
from sluice.records import NewCall
from sluice.store.base import Candidate
from sluice.store.sqlite.db import Database
from sluice.store.sqlite.ledger import SqliteLedger
from sluice.worker.capacity import Capacity


def _counted(capacity: Capacity, offered: list[Candidate]) -> Callable[[Candidate], bool]:
    """The worker's admission, noting each candidate the queue offers it."""

    def admit(candidate: Candidate) -> bool:
        offered.append(candidate)
        return capacity.admit(candidate)

    return admit


def _call(namespace: str, at: int, path: str = "act", **fields: object) -> NewCall:
    return NewCall(CallId.new(), namespace, path, {}, CallMeta(), 256, at, at, **fields)


def test_a_namespace_at_its_cap_hides_neither_the_calls_behind_it_nor_reads_its_backlog(
    run: Run,
) -> None:
    async def scenario(queue: Queue) -> None:
        busy = [_call("busy", 1000 + i) for i in range(100)]
        capped = _call("other", 1100, "capped", fn_limit=1)
        others = [_call("other", 1101 + i) for i in range(3)]
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

    run(scenario)


def test_a_named_queue_past_a_capped_backlog_is_taken(run: Run) -> None:
    async def scenario(queue: Queue) -> None:
        busy = [_call("busy", 1000 + i) for i in range(400)]
        named = _call("other", 2000, "slow", queue_name="q")
        await queue.enqueue(*busy, named)
        capacity, offered = Capacity(100_000, per_namespace=2), list[Candidate]()
        leases = await queue.take(5000, 1000, 32, _counted(capacity, offered))
        assert [lease.id for lease in leases] == [busy[0].id, busy[1].id, named.id]
        assert len(offered) == 4
        # what admission lets through is still taken oldest first, a page at a time
        capacity = Capacity(100_000, per_namespace=1000)
        leases = await queue.take(5000, 1000, 32, _counted(capacity, offered))
        assert [lease.id for lease in leases] == [c.id for c in busy[2:34]]

    run(scenario)


# A take's look past its first page, remembered (SQLite) ---------------------------------


def _window_reads(db: Database) -> list[str]:
    """The reader's statements that read past a take's first page, as SQLite runs them."""
    reads: list[str] = []
    db.reader.set_trace_callback(
        lambda sql: reads.append(sql) if "(visible_at, id) >" in sql else None
    )
    return reads


def _sqlite(tmp_path: Path, scenario: Callable[[Database, SqliteLedger], Awaitable[None]]) -> None:
    async def main() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        try:
            await scenario(db, SqliteLedger(db))
        finally:
            await db.close()

    asyncio.run(main())


def _candidate(call: NewCall) -> Candidate:
    return Candidate(call.id, call.namespace, call.memory_mb, call.path)


async def _at_its_cap(queue: SqliteLedger, *more: NewCall) -> tuple[list[NewCall], Capacity]:
    """400 calls of namespace `busy`, 2 of them at once, and `more`, after a first take."""
    busy = [_call("busy", 1000 + i) for i in range(400)]
    await queue.enqueue(*busy, *more)
    capacity = Capacity(100_000, per_namespace=2)
    first = await _taken(queue, capacity)
    assert first == [busy[0].id, busy[1].id, *(call.id for call in more)]
    return busy, capacity


async def _taken(queue: SqliteLedger, capacity: Capacity) -> list[CallId]:
    return [lease.id for lease in await queue.take(5000, 1000, 32, _counted(capacity, []))]


def test_a_capped_backlog_is_read_past_once_and_not_at_every_take(tmp_path: Path) -> None:
    async def scenario(db: Database, queue: SqliteLedger) -> None:
        reads = _window_reads(db)
        busy, capacity = await _at_its_cap(queue)
        assert reads, "the first take reads the window past its first page"
        for i in range(2, 12):  # one call ends, the next take leases the next: no window read
            reads.clear()
            capacity.release(_candidate(busy[i - 2]))
            assert await _taken(queue, capacity) == [busy[i].id]
            assert reads == []
        # more calls of the capped function change nothing the look found
        await queue.enqueue(_call("busy", 1100))
        capacity.release(_candidate(busy[10]))
        reads.clear()
        assert await _taken(queue, capacity) == [busy[12].id]
        assert reads == []

    _sqlite(tmp_path, scenario)


def test_a_call_queued_inside_a_window_read_already_is_taken_at_the_next_take(
    tmp_path: Path,
) -> None:
    async def scenario(db: Database, queue: SqliteLedger) -> None:
        _busy, capacity = await _at_its_cap(queue)
        # visible at 1050 (a start time in the past): among the calls the take looked past
        other = _call("other", 1050)
        await queue.enqueue(other)
        assert await _taken(queue, capacity) == [other.id]

    _sqlite(tmp_path, scenario)


def test_a_call_handed_back_inside_a_window_read_already_is_taken_again(tmp_path: Path) -> None:
    async def scenario(db: Database, queue: SqliteLedger) -> None:
        other = _call("other", 1050)
        _busy, capacity = await _at_its_cap(queue, other)
        # a take that finds only the capped backlog past its first page
        assert await _taken(queue, capacity) == []
        (lease,) = [x for x in await queue.recover() if x.id == other.id]
        assert await queue.nak(lease, 1050)
        capacity.release(_candidate(other))
        assert await _taken(queue, capacity) == [other.id]

    _sqlite(tmp_path, scenario)


def test_a_call_another_process_queues_inside_the_window_is_taken_soon(tmp_path: Path) -> None:
    async def scenario(db: Database, queue: SqliteLedger) -> None:
        _busy, capacity = await _at_its_cap(queue)
        other = _call("other", 1050)
        elsewhere = Database(tmp_path / "q.db")  # another process's connection to the file
        await elsewhere.open()
        try:
            await SqliteLedger(elsewhere).enqueue(other)
        finally:
            await elsewhere.close()
        deadline = time.monotonic() + 10
        taken: list[CallId] = []
        while not taken and time.monotonic() < deadline:
            taken = await _taken(queue, capacity)
            await asyncio.sleep(0.01)
        assert taken == [other.id]

    _sqlite(tmp_path, scenario)
