"""What every store promises, one body run on each: the SQLite file and PostgreSQL.
Namespaces, entities put from the version they were read at (Conflict otherwise), listings,
and the call records the queue writes: filters, pages, blobs, dead letters, pruning, depths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support.backends import STORES, Deployment, admit_all, deployment

from sluice.call_meta import CallMeta
from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import CallState, Entity, Namespace, NewCall
from sluice.store.base import CallFilter, Outcome, QueueDepth

pytestmark = pytest.mark.anyio


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    return deployment(request, tmp_path)


def _call(path: str = "f", at: int = 1000, **fields: Any) -> NewCall:
    return NewCall(CallId.new(), "ns", path, {}, CallMeta(), 256, at, at, **fields)


async def test_namespaces_are_unique_and_deleted_with_their_contents(stores: Deployment) -> None:
    async with stores.open() as opened:
        store = opened.store
        await store.create_namespace(Namespace("b", "uuid-b", "sha256:x", 1, 10))
        await store.create_namespace(Namespace("a", "uuid-a", "sha256:y", 1, 10))
        with pytest.raises(Conflict):
            await store.create_namespace(Namespace("a", "uuid-c", "sha256:z", 1, 10))
        assert [ns.name for ns in await store.list_namespaces()] == ["a", "b"]
        await store.set_namespace_key("a", "sha256:new", 2)
        changed = Namespace("a", "uuid-a", "sha256:new", 2, 10)
        assert await store.namespace_by_uuid("uuid-a") == changed
        assert await store.get_namespace("a") == changed
        assert await store.namespace_by_uuid("uuid-c") is None
        await store.put_entity(Entity("a", "actions", "f", "v1", 1, {"exec": {}}), None)
        call = NewCall(CallId.new(), "a", "f", {}, CallMeta(), 256, 5, 5, callback="http://x")
        await opened.queue.enqueue(call)
        assert await store.delete_namespace("a")
        assert not await store.delete_namespace("a")
        assert await store.get_namespace("a") is None
        assert await store.list_entities("a", "actions", 0, 10) == []
        assert await store.count_calls(CallFilter("a", terminal_only=False)) == 0
        assert await store.get_callback(call.id) is None
        assert [ns.name for ns in await store.list_namespaces()] == ["b"]


async def test_entities_are_replaced_only_from_the_version_they_were_read_at(
    stores: Deployment,
) -> None:
    async with stores.open() as opened:
        store = opened.store
        first = Entity("ns", "actions", "pkg/f", "v1", 100, {"exec": {"kind": "python:3"}})
        await store.put_entity(first, None)
        with pytest.raises(Conflict):
            await store.put_entity(first, None)  # it exists
        second = Entity("ns", "actions", "pkg/f", "v2", 200, {"exec": {"kind": "nodejs:20"}})
        await store.put_entity(second, "v1")
        with pytest.raises(Conflict):
            await store.put_entity(second, "v1")  # someone else's update won meanwhile
        with pytest.raises(Conflict):
            await store.put_entity(Entity("ns", "actions", "gone", "v2", 1, {}), "v1")
        assert await store.get_entity("ns", "actions", "pkg/f") == second
        assert await store.get_entity("ns", "triggers", "pkg/f") is None  # collections apart
        assert await store.delete_entity("ns", "actions", "pkg/f") == second
        assert await store.delete_entity("ns", "actions", "pkg/f") is None
        assert await store.get_entity("ns", "actions", "pkg/f") is None


async def test_a_second_process_sees_an_entity_change(stores: Deployment) -> None:
    async with stores.open() as one, stores.open() as other:
        entity = Entity("ns", "actions", "f", "v1", 1, {"n": 1})
        await one.store.put_entity(entity, None)
        assert await other.store.get_entity("ns", "actions", "f") == entity
        changed = Entity("ns", "actions", "f", "v2", 2, {"n": 2})
        await one.store.put_entity(changed, "v1")  # the other's cache must not keep v1
        assert await other.store.get_entity("ns", "actions", "f") == changed
        await one.store.delete_entity("ns", "actions", "f")
        assert await other.store.get_entity("ns", "actions", "f") is None


async def test_entity_listings_sort_newest_first_and_match_prefixes_literally(
    stores: Deployment,
) -> None:
    async with stores.open() as opened:
        store = opened.store
        for at, name in enumerate(["p_1/a", "p_1/b", "px1/c", "B", "a"]):
            await store.put_entity(Entity("ns", "actions", name, "v", at, {}), None)
        await store.put_entity(Entity("other", "actions", "z", "v", 9, {}), None)
        listed = await store.list_entities("ns", "actions", 0, 10)
        assert [e.name for e in listed] == ["a", "B", "px1/c", "p_1/b", "p_1/a"]
        # "_" is a character, not a wildcard
        prefixed = await store.list_entities("ns", "actions", 0, 10, prefix="p_1/")
        assert [e.name for e in prefixed] == ["p_1/b", "p_1/a"]
        assert await store.count_entities("ns", "actions", prefix="p_1/") == 2
        assert await store.count_entities("ns", "actions") == 5
        assert await store.count_entities("ns", "rules") == 0
        assert [e.name for e in await store.list_entities("ns", "actions", 1, 2)] == ["B", "px1/c"]


async def test_call_listings_filter_and_page(stores: Deployment) -> None:
    async with stores.open() as opened:
        store, queue = opened.store, opened.queue
        ids = [CallId.derived(1000 + i, str(i), b"secret") for i in range(4)]
        paths = ["f", "pkg/g", "f", "f"]
        for i, (call_id, path) in enumerate(zip(ids, paths, strict=True)):
            await queue.enqueue(
                NewCall(call_id, "ns", path, {"i": i}, CallMeta(), 256, 1000 + i, 0)
            )
        leases = await queue.take(5000, 1000, 3, admit_all)
        for lease in leases:
            await queue.ack(lease, Outcome(CallState.SUCCESS, {"result": {}}, 5100, 5000))
        everything = CallFilter("ns", terminal_only=False)
        assert [c.id for c in await store.list_calls(everything)] == ids[::-1]
        assert await store.count_calls(CallFilter("ns")) == 3
        assert await store.count_calls(CallFilter("other", terminal_only=False)) == 0
        assert [c.id for c in await store.list_calls(CallFilter("ns", path="f"))] == [
            ids[2],
            ids[0],
        ]
        in_pkg = CallFilter("ns", prefix="pkg/", terminal_only=False)
        assert [c.path for c in await store.list_calls(in_pkg)] == ["pkg/g"]
        page = CallFilter("ns", terminal_only=False, before=ids[3], limit=2)
        assert [c.id for c in await store.list_calls(page)] == [ids[2], ids[1]]
        skipped = CallFilter("ns", terminal_only=False, skip=1, limit=2)
        assert [c.id for c in await store.list_calls(skipped)] == [ids[2], ids[1]]
        live = CallFilter("ns", terminal_only=False, live_only=True)
        assert [c.id for c in await store.list_calls(live)] == [ids[3]]
        queued = CallFilter("ns", terminal_only=False, upto=1003)
        assert [c.state for c in await store.list_calls(queued)] == [CallState.QUEUED]
        started = CallFilter("ns", since=5000, upto=5000)  # by start once started
        assert await store.count_calls(started) == 3
        done = await store.get_call(ids[0])
        assert done is not None
        assert (done.state, done.params, done.started, done.ended, done.attempts) == (
            CallState.SUCCESS,
            {"i": 0},
            5000,
            5100,
            1,
        )
        assert await store.get_call(CallId.new()) is None


async def test_blobs_and_dead_letters_are_kept_with_their_call(stores: Deployment) -> None:
    async with stores.open() as opened:
        store, queue = opened.store, opened.queue
        call = _call(at=1, blob=b"\x00" * 70_000)
        await queue.enqueue(call)
        assert await store.get_blob(call.id) == b"\x00" * 70_000
        assert await store.get_blob(CallId.new()) is None
        [lease] = await queue.take(10, 1000, 1, admit_all)
        failed = Outcome(CallState.APPLICATION_ERROR, {}, 20, dead_letter="failed 3 times")
        assert await queue.ack(lease, failed)
        [letter] = await store.dead_letters("ns", "f", 10)
        assert (letter.id, letter.reason) == (call.id, "failed 3 times")
        assert await store.dead_letters("ns", "other", 10) == []
        assert [d.id for d in await store.dead_letters("ns", None, 10, call_id=call.id)] == [
            call.id
        ]
        assert await store.dead_letters("ns", None, 10, call_id=CallId.new()) == []
        assert await store.remove_dead_letter("ns", call.id)
        assert not await store.remove_dead_letter("ns", call.id)


async def test_pruning_forgets_ended_calls_with_what_they_kept(stores: Deployment) -> None:
    async with stores.open() as opened:
        store, queue = opened.store, opened.queue
        old = _call(at=1, callback="http://127.0.0.1:9/", blob=b"x", idempotency_key="k")
        recent, waiting = _call(at=2), _call(at=3)
        await queue.enqueue(old, recent, waiting)
        leases = {lease.id: lease for lease in await queue.take(10, 1000, 2, admit_all)}
        assert await queue.ack(leases[old.id], Outcome(CallState.SUCCESS, {}, 100))
        assert await queue.ack(leases[recent.id], Outcome(CallState.SUCCESS, {}, 900))
        assert await store.prune_calls(500, 10) == 1
        assert await store.get_call(old.id) is None
        assert await store.get_callback(old.id) is None
        assert await store.get_blob(old.id) is None
        assert await store.get_call(recent.id) is not None
        assert await store.get_call(waiting.id) is not None  # never ended: kept
        assert await store.prune_calls(500, 10) == 0
        await queue.enqueue(_call(at=4, idempotency_key="k"))  # its key went with it


async def test_queue_depths_count_the_waiting_calls_of_each_queue(stores: Deployment) -> None:
    async with stores.open() as opened:
        store, queue = opened.store, opened.queue
        assert await store.queue_depths() == []
        await queue.enqueue(_call(at=5), _call(at=7), _call(at=6, queue_name="slow"))
        first = _call(at=1)
        await queue.enqueue(first)
        [lease] = await queue.take(10, 1000, 1, admit_all)  # running: not waiting
        assert lease.id == first.id
        depths = sorted(await store.queue_depths(), key=lambda d: d.queue)
        assert depths == [QueueDepth("", 2, 5), QueueDepth("slow", 1, 6)]
