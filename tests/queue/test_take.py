"""A take's choice of calls, the same on each SQL queue (a SQLite file, a PostgreSQL
database), with the worker's real Capacity as admission: oldest first, and a namespace,
function or queue at its cap neither hides the calls behind it nor has its backlog read
row by row."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sluice.ids import CallId
from sluice.queue.base import Candidate, Queue
from sluice.queue.postgres import PostgresQueue
from sluice.queue.sqlite import SqliteQueue
from sluice.records import NewCall
from sluice.store.pg_db import PgDatabase
from sluice.store.sqlite_db import Database
from sluice.worker.capacity import Capacity

Run = Callable[[Callable[[Queue], Awaitable[None]]], None]


@pytest.fixture(params=["sqlite", "postgres"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """Runs a scenario on an empty queue of the kind named by the parameter."""
    url = str(request.getfixturevalue("pg_url")) if request.param == "postgres" else ""

    def on(scenario: Callable[[Queue], Awaitable[None]]) -> None:
        async def main() -> None:
            db: Database | PgDatabase
            if url:
                db = PgDatabase(url)
                await db.open()
                queue: Queue = PostgresQueue(db, "a")
            else:
                db = Database(tmp_path / "q.db")
                await db.open()
                queue = SqliteQueue(db)
            try:
                await scenario(queue)
            finally:
                await db.close()

        asyncio.run(main())

    return on


def _counted(capacity: Capacity, offered: list[Candidate]) -> Callable[[Candidate], bool]:
    """The worker's admission, noting each candidate the queue offers it."""

    def admit(candidate: Candidate) -> bool:
        offered.append(candidate)
        return capacity.admit(candidate)

    return admit


def _call(namespace: str, at: int, path: str = "act", **fields: object) -> NewCall:
    return NewCall(CallId.new(), namespace, path, {}, {}, 256, at, at, **fields)


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
