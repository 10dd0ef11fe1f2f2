"""What is the PostgreSQL call ledger's own, on a real database: SKIP LOCKED
leases shared by several workers, leasing by id, per-node recovery, fenced callbacks (what
every queue does is tests/queue/test_contract.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg

from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.records import CallbackState, CallState, NewCall
from sluice.store.base import Candidate, Outcome, candidate_of
from sluice.store.postgres.db import PgDatabase
from sluice.store.postgres.entities import PostgresStore
from sluice.store.postgres.ledger import PostgresLedger
from sluice.worker.capacity import Capacity

Scenario = Callable[[PgDatabase], Awaitable[None]]


def _call(namespace: str = "ns", at: int = 1000, **fields: object) -> NewCall:
    return NewCall(CallId.new(), namespace, "act", {"a": 1}, CallMeta(), 256, at, at, **fields)


def _admit_all(candidate: Candidate) -> bool:
    return True


def _done(at: int, who: str = "") -> Outcome:
    return Outcome(CallState.SUCCESS, {"result": {"who": who}}, at)


async def _each_worker(
    url: str, drain: Callable[[PostgresLedger], Awaitable[list[CallId]]]
) -> list[CallId]:
    """Four workers, each on a connection pool of its own, draining at once: all they took."""
    workers = [PostgresLedger(PgDatabase(url), f"w{i}") for i in range(4)]
    for worker in workers:
        await worker.db.open()
    try:
        shares = await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for worker in workers:
            await worker.db.close()
    return [call_id for share in shares for call_id in share]


def run(url: str, scenario: Scenario) -> None:
    async def main() -> None:
        db = PgDatabase(url)
        await db.open()
        try:
            await scenario(db)
        finally:
            await db.close()

    asyncio.run(main())


def test_workers_taking_at_once_never_share_a_call(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        await PostgresLedger(db, "x").enqueue(*(_call(at=i) for i in range(300)))

        async def drain(worker: PostgresLedger) -> list[CallId]:
            taken: list[CallId] = []
            while leases := await worker.take(5000, 1000, 16, _admit_all):
                taken += [lease.id for lease in leases]
            return taken

        everything = await _each_worker(pg_url, drain)
        assert len(everything) == len(set(everything)) == 300

    run(pg_url, scenario)


def test_claim_leases_only_calls_still_queued(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        queue = PostgresLedger(db, "a")
        done, waiting = _call(), _call()
        await queue.enqueue(done, waiting)
        [lease] = await queue.claim([done.id], 2000, 1000)
        assert await queue.ack(lease, _done(2100))
        # a redelivered message for a finished call leases nothing
        leases = await queue.claim([done.id, waiting.id, CallId.new()], 3000, 1000)
        assert [lease.id for lease in leases] == [waiting.id]

    run(pg_url, scenario)


def test_two_nodes_claiming_the_same_calls_lease_each_once(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        calls = [_call(at=i) for i in range(50)]
        await PostgresLedger(db, "x").enqueue(*calls)
        other = PgDatabase(pg_url)
        await other.open()
        try:
            ids = [call.id for call in calls]
            a, b = await asyncio.gather(
                PostgresLedger(db, "a").claim(ids, 2000, 1000),
                PostgresLedger(other, "b").claim(ids[::-1], 2000, 1000),
            )
        finally:
            await other.close()
        assert sorted(lease.id.raw for lease in a + b) == sorted(i.raw for i in ids)

    run(pg_url, scenario)


def test_a_named_queue_behind_a_long_shared_backlog_is_still_seen(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        queue = PostgresLedger(db, "a")
        await queue.enqueue(*(_call(at=i) for i in range(300)))
        named = _call(at=500, queue_name="slow")
        await queue.enqueue(named)
        leases = await queue.take(2000, 1000, 1, lambda c: c.queue_name == "slow")
        assert [lease.id for lease in leases] == [named.id]

    run(pg_url, scenario)


def _queued(url: str) -> int:
    """How many calls are still queued, as the database says (outside any take)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM calls WHERE state = 'queued'").fetchone()
        assert row is not None
        return int(row[0])


def test_a_take_skips_the_calls_another_worker_is_deciding_on(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        calls = [_call("busy", at=1000 + i) for i in range(40)]
        late = _call("other", at=2000)
        await PostgresLedger(db, "x").enqueue(*calls, late)
        other = PgDatabase(pg_url)
        await other.open()
        try:
            async with db.connection() as conn, conn.transaction():
                # another worker's take holds the 32 oldest while it decides
                await conn.execute(
                    "SELECT id FROM calls WHERE state = 'queued' ORDER BY visible_at, id"
                    " LIMIT 32 FOR UPDATE"
                )
                capacity = Capacity(100_000, per_namespace=2)
                leases = await PostgresLedger(other, "b").take(5000, 1000, 32, capacity.admit)
            # past them: two of `busy` (its cap), then `other`; the 32 are taken next
            assert [lease.id for lease in leases] == [calls[32].id, calls[33].id, late.id]
            leases = await PostgresLedger(other, "b").take(5000, 1000, 32, _admit_all)
            assert [lease.id for lease in leases] == [c.id for c in calls[:32]]
        finally:
            await other.close()

    run(pg_url, scenario)


def test_capped_workers_taking_at_once_lease_each_call_once(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        calls = [_call(f"ns{i % 5}", at=i, fn_limit=i % 2) for i in range(300)]
        await PostgresLedger(db, "x").enqueue(*calls)

        async def drain(worker: PostgresLedger) -> list[CallId]:
            taken: list[CallId] = []
            capacity = Capacity(100_000, per_namespace=3)
            while leases := await worker.take(5000, 60_000, 32, capacity.admit):
                taken += [lease.id for lease in leases]
                for lease in leases:  # each call ends before the next take
                    assert await worker.ack(lease, _done(6000))
                    capacity.release(candidate_of(lease))
            return taken

        everything = await _each_worker(pg_url, drain)
        # what they left (locked by each other when they last looked) is still there
        while leases := await PostgresLedger(db, "x").take(5000, 1000, 32, _admit_all):
            everything += [lease.id for lease in leases]
        assert sorted(i.raw for i in everything) == sorted(c.id.raw for c in calls)
        assert _queued(pg_url) == 0

    run(pg_url, scenario)


def test_recover_returns_only_this_nodes_running_calls(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        mine, theirs = PostgresLedger(db, "node-a"), PostgresLedger(db, "node-b")
        await mine.enqueue(_call(), _call())
        [a] = await mine.take(2000, 1000, 1, _admit_all)
        [b] = await theirs.take(2000, 1000, 1, _admit_all)
        direct = _call(state=CallState.RUNNING, lease_until=5000)
        await mine.enqueue(direct)  # accepted straight into this node's worker
        assert {lease.id for lease in await mine.recover()} == {a.id, direct.id}
        assert [lease.id for lease in await theirs.recover()] == [b.id]

    run(pg_url, scenario)


def test_callbacks_are_claimed_once_and_fenced_on_their_attempt(pg_url: str) -> None:
    async def scenario(db: PgDatabase) -> None:
        queue, store = PostgresLedger(db, "a"), PostgresStore(db)
        call = _call(callback="http://127.0.0.1:9/")
        await queue.enqueue(call)
        assert await queue.callbacks_due(5000, 1000, 10) == []  # not due before the call ends
        [lease] = await queue.take(2000, 1000, 1, _admit_all)
        await queue.ack(lease, _done(3000))
        claims = await asyncio.gather(*(queue.callbacks_due(5000, 1000, 10) for _ in range(3)))
        [first] = [one for claim in claims for one in claim]
        assert first.attempts == 1
        await queue.retry_callback(first, 6000, 502, "bad gateway")
        # its sender died: the claim runs out and another sender tries
        [second] = await queue.callbacks_due(6500, 1000, 10)
        assert second.attempts == 2
        await queue.settle_callback(first, CallbackState.DELIVERED, 200, None, 6600)  # stale
        await queue.settle_callback(second, CallbackState.FAILED, 500, "boom", 6700)
        settled = await store.get_callback(call.id)
        assert settled is not None
        assert (settled.state, settled.last_status, settled.settled, settled.due) == (
            CallbackState.FAILED,
            500,
            6700,
            None,
        )

    run(pg_url, scenario)
