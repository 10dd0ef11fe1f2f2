"""The PostgreSQL store on a real database: namespaces, entities, call listings, blobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.queue.base import Outcome
from sluice.queue.postgres import PostgresQueue
from sluice.records import CallState, Entity, Namespace, NewCall
from sluice.store.base import CallFilter
from sluice.store.pg_db import PgDatabase
from sluice.store.postgres import PostgresStore

Scenario = Callable[[PostgresStore, PostgresQueue], Awaitable[None]]


def run(url: str, scenario: Scenario) -> None:
    async def main() -> None:
        db = PgDatabase(url)
        store = PostgresStore(db)
        await store.open()
        try:
            await scenario(store, PostgresQueue(db, "node-a"))
        finally:
            await store.close()

    asyncio.run(main())


def test_namespaces_are_unique_and_deleted_with_their_contents(pg_url: str) -> None:
    async def scenario(store: PostgresStore, queue: PostgresQueue) -> None:
        await store.create_namespace(Namespace("b", "uuid-b", "sha256:x", 1, 10))
        await store.create_namespace(Namespace("a", "uuid-a", "sha256:y", 1, 10))
        with pytest.raises(Conflict):
            await store.create_namespace(Namespace("a", "uuid-c", "sha256:z", 1, 10))
        assert [ns.name for ns in await store.list_namespaces()] == ["a", "b"]
        await store.set_namespace_key("a", "sha256:new", 2)
        assert await store.namespace_by_uuid("uuid-a") == Namespace(
            "a", "uuid-a", "sha256:new", 2, 10
        )
        await store.put_entity(Entity("a", "actions", "f", "v1", 1, {"exec": {}}), None)
        await queue.enqueue(NewCall(CallId.new(), "a", "f", {}, {}, 256, 5, 5, callback="http://x"))
        assert await store.delete_namespace("a")
        assert not await store.delete_namespace("a")
        assert await store.get_namespace("a") is None
        assert await store.list_entities("a", "actions", 0, 10) == []
        assert await store.count_calls(CallFilter("a", terminal_only=False)) == 0

    run(pg_url, scenario)


def test_entities_are_replaced_only_from_the_version_they_were_read_at(pg_url: str) -> None:
    async def scenario(store: PostgresStore, queue: PostgresQueue) -> None:
        first = Entity("ns", "actions", "pkg/f", "v1", 100, {"exec": {"kind": "python:3"}})
        await store.put_entity(first, None)
        with pytest.raises(Conflict):
            await store.put_entity(first, None)
        second = Entity("ns", "actions", "pkg/f", "v2", 200, {"exec": {"kind": "nodejs:20"}})
        await store.put_entity(second, "v1")
        with pytest.raises(Conflict):
            await store.put_entity(second, "v1")  # someone else's update won meanwhile
        assert await store.get_entity("ns", "actions", "pkg/f") == second
        assert await store.delete_entity("ns", "actions", "pkg/f") == second
        assert await store.delete_entity("ns", "actions", "pkg/f") is None

    run(pg_url, scenario)


def test_entity_listings_sort_newest_first_and_match_prefixes_literally(pg_url: str) -> None:
    async def scenario(store: PostgresStore, queue: PostgresQueue) -> None:
        for at, name in enumerate(["p_1/a", "p_1/b", "px1/c", "B", "a"]):
            await store.put_entity(Entity("ns", "actions", name, "v", at, {}), None)
        listed = await store.list_entities("ns", "actions", 0, 10)
        assert [e.name for e in listed] == ["a", "B", "px1/c", "p_1/b", "p_1/a"]
        # "_" is a character, not a wildcard; names compare byte by byte
        prefixed = await store.list_entities("ns", "actions", 0, 10, prefix="p_1/")
        assert [e.name for e in prefixed] == ["p_1/b", "p_1/a"]
        assert await store.count_entities("ns", "actions", prefix="p_1/") == 2
        assert await store.count_entities("ns", "actions") == 5
        assert [e.name for e in await store.list_entities("ns", "actions", 1, 2)] == ["B", "px1/c"]

    run(pg_url, scenario)


def test_call_listings_filter_like_the_embedded_store(pg_url: str) -> None:
    async def scenario(store: PostgresStore, queue: PostgresQueue) -> None:
        ids = [CallId.derived(1000 + i, str(i), b"secret") for i in range(4)]
        paths = ["f", "pkg/g", "f", "f"]
        for i, (call_id, path) in enumerate(zip(ids, paths, strict=True)):
            await queue.enqueue(NewCall(call_id, "ns", path, {"i": i}, {}, 256, 1000 + i, 0))
        leases = await queue.take(5000, 1000, 3, lambda c: True)
        for lease in leases:
            await queue.ack(lease, Outcome(CallState.SUCCESS, {"result": {}}, 5100, 5000))
        everything = CallFilter("ns", terminal_only=False)
        assert [c.id for c in await store.list_calls(everything)] == ids[::-1]
        assert await store.count_calls(CallFilter("ns")) == 3
        assert [c.id for c in await store.list_calls(CallFilter("ns", path="f"))] == [
            ids[2],
            ids[0],
        ]
        in_pkg = CallFilter("ns", prefix="pkg/", terminal_only=False)
        assert [c.path for c in await store.list_calls(in_pkg)] == ["pkg/g"]
        page = CallFilter("ns", terminal_only=False, before=ids[3], limit=2)
        assert [c.id for c in await store.list_calls(page)] == [ids[2], ids[1]]
        queued = CallFilter("ns", terminal_only=False, upto=1003)
        assert [c.state for c in await store.list_calls(queued)] == [CallState.QUEUED]
        done = await store.get_call(ids[0])
        assert done is not None
        assert (done.state, done.params, done.started, done.ended) == (
            CallState.SUCCESS,
            {"i": 0},
            5000,
            5100,
        )

    run(pg_url, scenario)


def test_blobs_and_dead_letters_are_kept_with_their_call(pg_url: str) -> None:
    async def scenario(store: PostgresStore, queue: PostgresQueue) -> None:
        call = NewCall(CallId.new(), "ns", "f", {}, {}, 256, 1, 1, blob=b"\x00" * 70_000)
        await queue.enqueue(call)
        assert await store.get_blob(call.id) == b"\x00" * 70_000
        [lease] = await queue.take(10, 1000, 1, lambda c: True)
        failed = Outcome(CallState.APPLICATION_ERROR, {}, 20, dead_letter="failed 3 times")
        assert await queue.ack(lease, failed)
        [letter] = await store.dead_letters("ns", "f", 10)
        assert (letter.id, letter.reason) == (call.id, "failed 3 times")
        assert await store.dead_letters("ns", None, 10, call_id=CallId.new()) == []
        assert await store.remove_dead_letter("ns", call.id)
        assert not await store.remove_dead_letter("ns", call.id)

    run(pg_url, scenario)
