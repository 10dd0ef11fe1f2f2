"""What every queue promises, one body run on each way of delivering calls: polling the
SQLite file, polling PostgreSQL, and JetStream over a ledger. Durable all-or-none accept,
leases given once and fenced on their attempt, admission, idempotency keys, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.support.backends import QUEUES, Deployment, admit_all, deployment, take_until

from sluice.call_meta import CallMeta
from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import CallState, NewCall
from sluice.store.base import IDEMPOTENCY_MS, DuplicateCall, Outcome
from sluice.timing import now_ms

pytestmark = pytest.mark.anyio


@pytest.fixture(params=QUEUES)
def queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    made = deployment(request, tmp_path)
    yield made
    made.remove()


def _call(namespace: str = "ns", **fields: Any) -> NewCall:
    now = now_ms()
    return NewCall(CallId.new(), namespace, "act", {"a": 1}, CallMeta(), 256, now, now, **fields)


def _done(who: str) -> Outcome:
    return Outcome(CallState.SUCCESS, {"result": {"who": who}}, now_ms())


async def test_accepted_calls_survive_reopen_and_lease_once(queues: Deployment) -> None:
    calls = [_call() for _ in range(20)]
    async with queues.open() as first:
        await asyncio.gather(*(first.queue.enqueue(c) for c in calls))  # one group commit
    async with queues.open() as again:  # a restart: what was accepted is there
        leases = await take_until(again.queue, 20)
        assert sorted(lease.id.raw for lease in leases) == sorted(c.id.raw for c in calls)
        assert all(lease.attempt == 1 for lease in leases)
        assert await again.queue.take(now_ms(), 60_000, 100, admit_all) == []


async def test_calls_are_taken_oldest_first(queues: Deployment) -> None:
    async with queues.open() as opened:
        calls = [_call() for _ in range(5)]
        for call in calls:
            await opened.queue.enqueue(call)
        leases = await take_until(opened.queue, 5)
        assert [lease.id for lease in leases] == [c.id for c in calls]


async def test_ack_is_fenced_on_the_attempt(queues: Deployment) -> None:
    async with queues.open() as opened:
        queue = opened.queue
        call = _call(callback="http://127.0.0.1:9/")
        await queue.enqueue(call)
        [first] = await take_until(queue, 1, lease_ms=1000)
        # the lease runs out; the reaper gives the call to someone else
        assert [lease.id for lease in await queue.expired(now_ms() + 5000, 10)] == [call.id]
        assert await queue.nak(first, now_ms())
        assert not await queue.nak(first, now_ms())
        [second] = await take_until(queue, 1, lease_ms=1000)
        assert (second.id, second.attempt) == (call.id, 2)
        await queue.extend([first], now_ms() + 10**9)  # the stale holder's heartbeat: nothing
        expired = await queue.expired(now_ms() + 5000, 10)
        assert [(lease.id, lease.attempt) for lease in expired] == [(call.id, 2)]
        assert not await queue.ack(first, _done("first"))  # nor does its result
        ended = _done("second")
        assert await queue.ack(second, ended)
        assert not await queue.ack(second, _done("again"))  # one outcome, once
        stored = await opened.store.get_call(call.id)
        assert stored is not None
        assert (stored.state, stored.record) == (CallState.SUCCESS, {"result": {"who": "second"}})
        assert stored.attempts == 2
        callback = await opened.store.get_callback(call.id)
        assert callback is not None
        assert callback.due == ended.ended  # due with the call's end, in the same write


async def test_a_lease_knows_whether_its_ack_has_a_callback_to_make_due(
    queues: Deployment,
) -> None:
    """The ack skips the callback's UPDATE for a call with none; one with one is still due."""
    async with queues.open() as opened:
        queue = opened.queue
        plain, called = _call(), _call(callback="http://127.0.0.1:9/")
        await queue.enqueue(plain)
        await queue.enqueue(called)
        leases = await take_until(queue, 2)
        assert {lease.id: lease.callback for lease in leases} == {plain.id: False, called.id: True}
        ended = _done("both")
        for lease in leases:
            assert await queue.ack(lease, ended)
        assert await opened.store.get_callback(plain.id) is None
        callback = await opened.store.get_callback(called.id)
        assert callback is not None
        assert callback.due == ended.ended
        for call in (plain, called):
            stored = await opened.store.get_call(call.id)
            assert stored is not None
            assert stored.state == CallState.SUCCESS


async def test_admission_skips_calls_that_do_not_fit(queues: Deployment) -> None:
    async with queues.open() as opened:
        busy, other = _call("busy"), _call("other")
        await opened.queue.enqueue(busy)
        await opened.queue.enqueue(other)
        leases = await take_until(opened.queue, 1, lambda c: c.namespace == "other")
        assert [lease.id for lease in leases] == [other.id]
        # a refused call stays queued for the next take
        assert [lease.id for lease in await take_until(opened.queue, 1)] == [busy.id]


async def test_accepting_is_all_or_none(queues: Deployment) -> None:
    async with queues.open() as opened:
        queue, store = opened.queue, opened.store
        call = _call()
        await queue.enqueue(call)
        other = _call(callback="http://127.0.0.1:9/", blob=b"big")
        with pytest.raises(Conflict):
            await queue.enqueue(other, call)  # the second row collides
        assert await store.get_call(other.id) is None
        assert await store.get_callback(other.id) is None
        assert await store.get_blob(other.id) is None
        await queue.enqueue(other)  # the writer is still fine afterwards
        assert await store.get_blob(other.id) == b"big"
        leases = await take_until(queue, 2)
        assert sorted(lease.id.raw for lease in leases) == sorted([call.id.raw, other.id.raw])


async def test_an_idempotency_key_names_its_first_call_for_a_day(queues: Deployment) -> None:
    async with queues.open() as opened:
        queue, store = opened.queue, opened.store
        first = _call(idempotency_key="k")
        await queue.enqueue(first)
        again = [_call(idempotency_key="k") for _ in range(5)]
        results = await asyncio.gather(*(queue.enqueue(c) for c in again), return_exceptions=True)
        assert all(isinstance(r, DuplicateCall) and r.existing == first.id for r in results)
        assert await store.get_call(again[0].id) is None
        # made past the key's day: the key names the new call now
        later = replace(_call(idempotency_key="k"), created=first.created + IDEMPOTENCY_MS + 1)
        await queue.enqueue(later)
        elsewhere = _call("other-ns", idempotency_key="k")  # keys are per namespace
        await queue.enqueue(elsewhere)
        leases = await take_until(queue, 3)
        assert {lease.id for lease in leases} == {first.id, later.id, elsewhere.id}


async def test_cancel_ends_only_queued_calls(queues: Deployment) -> None:
    async with queues.open() as opened:
        queue, store = opened.queue, opened.store
        running = _call()
        await queue.enqueue(running)
        await take_until(queue, 1)
        queued = _call(callback="http://127.0.0.1:9/")
        await queue.enqueue(queued)
        cancelled = Outcome(CallState.CANCELLED, {"result": {}}, now_ms())
        assert await queue.cancel_queued("ns", cancelled, path="act") == [queued.id]
        assert await queue.cancel_queued("ns", cancelled, call_id=running.id) == []
        with pytest.raises(ValueError, match="call id or a path"):
            await queue.cancel_queued("ns", cancelled)
        ended = await store.get_call(queued.id)
        assert ended is not None
        assert ended.state is CallState.CANCELLED
        callback = await store.get_callback(queued.id)
        assert callback is not None
        assert callback.due == cancelled.ended
        # its message, if it has one, leases nothing
        assert await queue.take(now_ms(), 60_000, 32, admit_all) == []
