"""The SQLite store keeps namespace and function rows between lookups, and forgets them the
moment any process changes them: two stores on one file stand for two processes here (the
API and its worker process, or the server and the `sluice namespace` admin command)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sluice.records import Entity, Namespace
from sluice.store.sqlite.db import Database
from sluice.store.sqlite.entities import SqliteStore


@asynccontextmanager
async def opened(path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(Database(path))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def two_processes(
    path: Path, scenario: Callable[[SqliteStore, SqliteStore], Awaitable[None]]
) -> None:
    async def run() -> None:
        async with opened(path) as mine, opened(path) as theirs:
            await scenario(mine, theirs)

    asyncio.run(run())


def action(version: str, code: str) -> Entity:
    return Entity("guest", "actions", "hello", version, 0, {"exec": {"code": code}})


def test_a_function_changed_elsewhere_is_read_again(tmp_path: Path) -> None:
    async def scenario(mine: SqliteStore, theirs: SqliteStore) -> None:
        assert await mine.get_entity("guest", "actions", "hello") is None  # kept, as missing
        await theirs.put_entity(action("v1", "one"), replaces=None)
        got = await mine.get_entity("guest", "actions", "hello")
        assert got is not None
        assert got.doc["exec"]["code"] == "one"
        await theirs.put_entity(action("v2", "two"), replaces="v1")
        got = await mine.get_entity("guest", "actions", "hello")
        assert got is not None
        assert got.version == "v2"
        await theirs.delete_entity("guest", "actions", "hello")
        assert await mine.get_entity("guest", "actions", "hello") is None

    two_processes(tmp_path / "sluice.db", scenario)


def test_a_rotated_or_deleted_key_is_seen_at_the_next_lookup(tmp_path: Path) -> None:
    async def scenario(mine: SqliteStore, theirs: SqliteStore) -> None:
        await theirs.create_namespace(Namespace("guest", "u-1", "hash-1", 1, 0))
        first = await mine.namespace_by_uuid("u-1")
        assert first is not None
        assert first.key_hash == "hash-1"
        await theirs.set_namespace_key("guest", "hash-2", 2)
        rotated = await mine.namespace_by_uuid("u-1")
        assert rotated is not None
        assert rotated.key_hash == "hash-2"
        assert (await mine.get_namespace("guest")) == rotated
        await theirs.delete_namespace("guest")
        assert await mine.namespace_by_uuid("u-1") is None
        assert await mine.get_namespace("guest") is None

    two_processes(tmp_path / "sluice.db", scenario)


def test_a_kept_row_is_not_shared_with_its_callers(tmp_path: Path) -> None:
    async def scenario(mine: SqliteStore, theirs: SqliteStore) -> None:
        await mine.put_entity(action("v1", "one"), replaces=None)
        got = await mine.get_entity("guest", "actions", "hello")
        assert got is not None
        got.doc["exec"]["code"] = "changed by a caller"
        again = await mine.get_entity("guest", "actions", "hello")
        assert again is not None
        assert again.doc["exec"]["code"] == "one"

    two_processes(tmp_path / "sluice.db", scenario)


def test_lookups_are_served_without_reading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sluice.db"

    async def scenario(mine: SqliteStore, theirs: SqliteStore) -> None:
        await theirs.put_entity(action("v1", "one"), replaces=None)
        assert await mine.get_entity("guest", "actions", "hello") is not None
        statements: list[str] = []
        mine.db.reader.set_trace_callback(statements.append)
        for _ in range(100):
            assert await mine.get_entity("guest", "actions", "hello") is not None
        assert statements == []
        # a change the store did not make (the sqlite3 shell) goes unseen until the stamp
        # moves or the rows age out; a change through a store is seen at once
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE entities SET version = 'by hand'")
        await theirs.put_entity(action("v2", "two"), replaces="by hand")
        got = await mine.get_entity("guest", "actions", "hello")
        assert got is not None
        assert got.version == "v2"
        assert statements != []

    two_processes(path, scenario)
