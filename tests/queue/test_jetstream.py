"""The JetStream queue against a real nats-server, over a real SQLite ledger: delivery,
redelivery, fencing, dedupe, the delivery limit and named-queue subjects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.queue.base import Ledger
from sluice.queue.jetstream import JetStream, JetStreamQueue, Names
from sluice.queue.nats_connect import connect
from sluice.records import CallState, Lease, NewCall
from sluice.store.base import Candidate, Outcome, Store
from sluice.store.postgres.db import PgDatabase
from sluice.store.postgres.entities import PostgresStore
from sluice.store.postgres.ledger import PostgresLedger
from sluice.store.sqlite.db import Database
from sluice.store.sqlite.entities import SqliteStore
from sluice.store.sqlite.ledger import SqliteLedger
from sluice.timing import now_ms


def _call(queue_name: str = "", at: int | None = None) -> NewCall:
    now = now_ms()
    return NewCall(
        CallId.new(), "ns", "act", {"a": 1}, CallMeta(), 256, now, at or now, queue_name=queue_name
    )


def _admit_all(candidate: Candidate) -> bool:
    return True


def _refuse_all(candidate: Candidate) -> bool:
    return False


def _success() -> Outcome:
    return Outcome(CallState.SUCCESS, {"result": {}}, now_ms())


class Setup:
    """One stream and one ledger; `queue()` is one more worker process's view of them."""

    def __init__(
        self, names: Names, url: str, ledger: Callable[[], Ledger], store: Store, kind: str
    ) -> None:
        self.ledger_kind = kind
        self.names = names
        self.url = url
        self.ledger = ledger
        self.store = store
        self.queues: list[JetStreamQueue] = []

    async def queue(self, ack_wait_s: float = 30, max_deliver: int = 100) -> JetStreamQueue:
        stream = JetStream(await connect(self.url, "test"), self.names, ack_wait_s, max_deliver)
        await stream.ensure_stream()
        own = self.ledger_kind != "sqlite"
        queue = JetStreamQueue(self.ledger(), stream, poll_seconds=0.2, recover_own=own)
        self.queues.append(queue)
        return queue

    async def messages(self) -> int:
        info = await self.queues[0].stream.js.stream_info(self.names.stream)
        return int(info.state.messages)

    async def no_messages(self) -> bool:
        return await self.messages() == 0


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest) -> str:
    """Where the records live: "sqlite" (a file), or a PostgreSQL URL (when it is there)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return "sqlite"


@asynccontextmanager
async def setup(tmp_path: Path, url: str, ledger: str) -> AsyncIterator[Setup]:
    stream = f"T{CallId.new().hex}"
    names = Names(stream, stream.lower())
    closing: Callable[[], Awaitable[None]]
    made: Setup
    if ledger != "sqlite":
        pg_db = PgDatabase(ledger)
        await pg_db.open()
        made = Setup(
            names, url, lambda: PostgresLedger(pg_db, "node"), PostgresStore(pg_db), "postgres"
        )
        closing = pg_db.close
    else:
        db = Database(tmp_path / "ledger.db")
        await db.open()
        made = Setup(names, url, lambda: SqliteLedger(db), SqliteStore(db), "sqlite")
        closing = db.close
    try:
        yield made
    finally:
        if made.queues:
            await made.queues[0].stream.js.delete_stream(stream)
        for queue in made.queues:
            await queue.stream.close()
        await closing()


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _take_until(
    queue: JetStreamQueue, count: int, admit: Callable[[Candidate], bool] = _admit_all
) -> list[Lease]:
    leases: list[Lease] = []

    async def more() -> bool:
        leases.extend(await queue.take(now_ms(), 60_000, 32, admit))
        return len(leases) >= count

    await _until(more)
    return leases


def test_calls_are_delivered_in_order_and_acked_away(
    tmp_path: Path, nats_url: str, ledger: str
) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            queue = await s.queue()
            calls = [_call() for _ in range(10)]
            await queue.enqueue(*calls)
            assert await s.messages() == 10
            leases = await _take_until(queue, 10)
            assert [lease.id for lease in leases] == [call.id for call in calls]
            assert all(lease.attempt == 1 for lease in leases)
            for lease in leases:
                assert await queue.ack(lease, _success())
            await _until(s.no_messages)  # a work queue forgets acked messages
            store = s.store
            for call in calls:
                got = await store.get_call(call.id)
                assert got is not None
                assert got.state is CallState.SUCCESS

    asyncio.run(scenario())


def test_a_publish_repeated_is_one_message(tmp_path: Path, nats_url: str, ledger: str) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            queue = await s.queue()
            call = _call()
            await queue.enqueue(call)
            candidate = Candidate(call.id, "ns", 256, "act")
            await queue.stream.publish(candidate, call.id.hex)  # a client's retry: deduped
            await queue.stream.publish(candidate, "another id")  # the sweeper: replaces it
            assert await s.messages() == 1
            [lease] = await _take_until(queue, 1)
            assert lease.id == call.id
            assert await queue.take(now_ms(), 60_000, 32, _admit_all) == []

    asyncio.run(scenario())


def test_a_dead_workers_call_is_redelivered_and_its_late_ack_fenced(
    tmp_path: Path, nats_url: str, ledger: str
) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            first = await s.queue(ack_wait_s=1)
            second = await s.queue(ack_wait_s=1)
            call = _call()
            await first.enqueue(call)
            [lost] = await first.take(now_ms(), 500, 1, _admit_all) or await _take_until(first, 1)
            # the first worker stalls: its lease runs out, another worker's reaper requeues
            await _until(lambda: _expired(second, 1))
            [expired] = await second.expired(now_ms(), 10)
            assert await second.nak(expired, now_ms())
            [again] = await _take_until(second, 1)
            assert (again.id, again.attempt) == (call.id, 2)
            assert not await first.ack(lost, _success())  # too late: fenced
            assert await second.ack(again, _success())
            got = await s.store.get_call(call.id)
            assert got is not None
            assert got.state is CallState.SUCCESS
            assert got.attempts == 2

    asyncio.run(scenario())


async def _expired(queue: JetStreamQueue, count: int) -> bool:
    return len(await queue.expired(now_ms(), 10)) >= count


def test_an_unacked_message_comes_back_after_the_ack_wait(
    tmp_path: Path, nats_url: str, ledger: str
) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            queue = await s.queue(ack_wait_s=1)
            call = _call()
            await queue.enqueue(call)
            [lease] = await _take_until(queue, 1)
            # the call ends in the ledger but its message is never acked (a crash between)
            assert await queue.ledger.ack(lease, _success())
            queue._held.clear()
            # redelivered after the ack wait, found ended: acked and dropped, not run again
            await _until(lambda: _drained(queue, s))

    asyncio.run(scenario())


async def _drained(queue: JetStreamQueue, s: Setup) -> bool:
    assert await queue.take(now_ms(), 60_000, 32, _admit_all) == []
    return await s.messages() == 0


def test_a_call_past_the_delivery_limit_ends_as_a_platform_error(
    tmp_path: Path, nats_url: str, ledger: str
) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            queue = await s.queue(max_deliver=3)
            call = _call()
            await queue.enqueue(call)
            store = s.store

            async def ended() -> bool:
                assert await queue.take(now_ms(), 60_000, 32, _refuse_all) == []
                got = await store.get_call(call.id)
                assert got is not None
                return got.state.terminal

            await _until(ended)
            got = await store.get_call(call.id)
            assert got is not None
            assert got.state is CallState.PLATFORM_ERROR
            assert got.record is not None
            assert "delivered 3 times" in got.record["result"]["error"]
            await _until(s.no_messages)

    asyncio.run(scenario())


def test_named_queues_have_subjects_of_their_own(
    tmp_path: Path, nats_url: str, ledger: str
) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            queue = await s.queue()
            slow, odd, shared = _call("slow"), _call("a.b c"), _call()
            await queue.enqueue(slow, odd, shared)
            js, prefix = queue.stream.js, s.names.prefix
            for subject in (
                f"{prefix}.calls.slow.{slow.id.hex}",
                f"{prefix}.calls.x-{b'a.b c'.hex()}.{odd.id.hex}",
                f"{prefix}.calls._.{shared.id.hex}",
            ):
                await js.get_last_msg(s.names.stream, subject)
            # a full named queue is handed back; the others still run
            leases = await _take_until(queue, 2, lambda c: c.queue_name != "slow")
            assert {lease.id for lease in leases} == {odd.id, shared.id}

    asyncio.run(scenario())


def test_a_delayed_call_waits_and_a_lost_publish_is_swept(
    tmp_path: Path, nats_url: str, ledger: str
) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            queue = await s.queue()
            delayed = _call(at=now_ms() + 700)
            await queue.enqueue(delayed)
            assert await queue.take(now_ms(), 60_000, 32, _admit_all) == []
            [lease] = await _take_until(queue, 1)
            assert lease.id == delayed.id
            assert now_ms() >= delayed.visible_at
            lost = [_call() for _ in range(3)]  # of one function: each one is looked at
            await queue.ledger.enqueue(*lost)  # written, never published
            assert await queue.sweep(now_ms(), 0) == 3
            assert await queue.sweep(now_ms(), 0) == 0  # their messages are there now
            found = await _take_until(queue, 3)
            assert {lease.id for lease in found} == {call.id for call in lost}

    asyncio.run(scenario())


def test_a_restarted_worker_hands_back_only_its_own_calls(
    tmp_path: Path, nats_url: str, ledger: str
) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, nats_url, ledger) as s:
            queue = await s.queue()
            call = _call()
            await queue.enqueue(call)
            [lease] = await _take_until(queue, 1)
            restarted = await s.queue()
            if s.ledger_kind == "sqlite":  # the file does not say which process held a lease
                assert await restarted.recover() == []
                return
            [recovered] = await restarted.recover()
            assert (recovered.id, recovered.attempt) == (lease.id, lease.attempt)
            assert await restarted.nak(recovered, now_ms())  # published again: runs at once
            [again] = await _take_until(restarted, 1)
            assert (again.id, again.attempt) == (call.id, 2)

    asyncio.run(scenario())
