"""The store on SQLite: see db.py for how reads and writes reach the file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import Call, Callback, DeadLetter, Entity, Namespace
from sluice.store.base import QUEUE_DEPTHS_SQL, CallFilter, QueueDepth
from sluice.store.rows import (
    CALL_COLUMNS,
    CALL_SIDE_TABLES,
    CALLBACK_COLUMNS,
    ENTITY_COLUMNS,
    NAMESPACE_COLUMNS,
    NAMESPACE_TABLES,
    call_from_row,
    call_where,
    callback_from_row,
    dead_letter_where,
    ended_calls_sql,
    entity_from_row,
    entity_where,
    namespace_from_row,
)
from sluice.store.sqlite.cache import RowCache
from sluice.store.sqlite.db import Database

T = TypeVar("T")


class SqliteStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache = RowCache(db.path.with_name(db.path.name + ".entities"))

    async def open(self) -> None:
        await self.db.open()
        self.cache.open()

    async def close(self) -> None:
        self.cache.close()
        await self.db.close()

    async def _change(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A write to the namespaces or entities tables: every process's cache forgets."""
        try:
            return await self.db.write(fn)
        finally:
            self.cache.changed()

    # Namespaces
    async def create_namespace(self, namespace: Namespace) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO namespaces (name, uuid, key_hash, generation, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        namespace.name,
                        namespace.uuid,
                        namespace.key_hash,
                        namespace.generation,
                        namespace.created,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"namespace {namespace.name} already exists") from exc

        await self._change(insert)

    async def get_namespace(self, name: str) -> Namespace | None:
        row = self.cache.get(("name", name), lambda: self._namespace_row("name", name))
        return namespace_from_row(row) if row else None

    async def namespace_by_uuid(self, uuid: str) -> Namespace | None:
        row = self.cache.get(("uuid", uuid), lambda: self._namespace_row("uuid", uuid))
        return namespace_from_row(row) if row else None

    def _namespace_row(self, column: str, value: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.reader.execute(
            f"SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE {column} = ?", (value,)
        ).fetchone()
        return row

    async def list_namespaces(self) -> list[Namespace]:
        rows = self.db.reader.execute(
            f"SELECT {NAMESPACE_COLUMNS} FROM namespaces ORDER BY name"
        ).fetchall()
        return [namespace_from_row(r) for r in rows]

    async def set_namespace_key(self, name: str, key_hash: str, generation: int) -> None:
        await self._change(
            lambda conn: conn.execute(
                "UPDATE namespaces SET key_hash = ?, generation = ? WHERE name = ?",
                (key_hash, generation, name),
            )
        )

    async def delete_namespace(self, name: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            for table in NAMESPACE_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE namespace = ?", (name,))
            return conn.execute("DELETE FROM namespaces WHERE name = ?", (name,)).rowcount > 0

        return await self._change(delete)

    # Entities
    async def get_entity(self, namespace: str, collection: str, name: str) -> Entity | None:
        key = (namespace, collection, name)
        row = self.cache.get(key, lambda: self._entity_row(*key))
        return entity_from_row(row) if row else None

    def _entity_row(self, namespace: str, collection: str, name: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.reader.execute(
            f"SELECT {ENTITY_COLUMNS} FROM entities"
            " WHERE namespace = ? AND collection = ? AND name = ?",
            (namespace, collection, name),
        ).fetchone()
        return row

    async def put_entity(self, entity: Entity, replaces: str | None) -> None:
        doc = orjson.dumps(entity.doc)

        def put(conn: sqlite3.Connection) -> None:
            if replaces is None:
                try:
                    conn.execute(
                        "INSERT INTO entities (namespace, collection, name, version, updated, doc)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            entity.namespace,
                            entity.collection,
                            entity.name,
                            entity.version,
                            entity.updated,
                            doc,
                        ),
                    )
                except sqlite3.IntegrityError as exc:
                    raise Conflict() from exc
                return
            changed = conn.execute(
                "UPDATE entities SET version = ?, updated = ?, doc = ?"
                " WHERE namespace = ? AND collection = ? AND name = ? AND version = ?",
                (
                    entity.version,
                    entity.updated,
                    doc,
                    entity.namespace,
                    entity.collection,
                    entity.name,
                    replaces,
                ),
            ).rowcount
            if not changed:
                raise Conflict("the entity was changed or deleted meanwhile; try again")

        await self._change(put)

    async def delete_entity(self, namespace: str, collection: str, name: str) -> Entity | None:
        def delete(conn: sqlite3.Connection) -> Entity | None:
            row = conn.execute(
                "DELETE FROM entities WHERE namespace = ? AND collection = ? AND name = ?"
                f" RETURNING {ENTITY_COLUMNS}",
                (namespace, collection, name),
            ).fetchone()
            return entity_from_row(row) if row else None

        return await self._change(delete)

    async def list_entities(
        self, namespace: str, collection: str, skip: int, limit: int, prefix: str | None = None
    ) -> list[Entity]:
        where, args = entity_where("?", namespace, collection, prefix)
        rows = self.db.reader.execute(
            f"SELECT {ENTITY_COLUMNS} FROM entities"
            f" WHERE {where} ORDER BY updated DESC, name LIMIT ? OFFSET ?",
            (*args, limit, skip),
        ).fetchall()
        return [entity_from_row(r) for r in rows]

    async def count_entities(
        self, namespace: str, collection: str, prefix: str | None = None
    ) -> int:
        where, args = entity_where("?", namespace, collection, prefix)
        row = self.db.reader.execute(
            f"SELECT count(*) FROM entities WHERE {where}",
            args,
        ).fetchone()
        return int(row[0])

    # Calls
    async def get_call(self, call_id: CallId) -> Call | None:
        row = self.db.reader.execute(
            f"SELECT {CALL_COLUMNS} FROM calls WHERE id = ?",
            (call_id.raw,),
        ).fetchone()
        return call_from_row(row) if row else None

    async def get_callback(self, call_id: CallId) -> Callback | None:
        row = self.db.reader.execute(
            f"SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE id = ?", (call_id.raw,)
        ).fetchone()
        return callback_from_row(row) if row else None

    async def get_blob(self, call_id: CallId) -> bytes | None:
        row = self.db.reader.execute(
            "SELECT data FROM blobs WHERE id = ?", (call_id.raw,)
        ).fetchone()
        return bytes(row[0]) if row else None

    async def dead_letters(
        self, namespace: str, path: str | None, limit: int, call_id: CallId | None = None
    ) -> list[DeadLetter]:
        where, args = dead_letter_where("?", namespace, path, call_id)
        rows = self.db.reader.execute(
            "SELECT id, namespace, path, reason, created FROM dead_letters"
            f" WHERE {where} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [DeadLetter(CallId(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    async def remove_dead_letter(self, namespace: str, call_id: CallId) -> bool:
        return await self.db.write(
            lambda conn: (
                conn.execute(
                    "DELETE FROM dead_letters WHERE namespace = ? AND id = ?",
                    (namespace, call_id.raw),
                ).rowcount
                > 0
            )
        )

    async def list_calls(self, query: CallFilter) -> list[Call]:
        where, args = call_where("?", query)
        rows = self.db.reader.execute(
            f"SELECT {CALL_COLUMNS} FROM calls WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*args, query.limit, query.skip),
        ).fetchall()
        return [call_from_row(r) for r in rows]

    async def count_calls(self, query: CallFilter) -> int:
        where, args = call_where("?", query)
        row = self.db.reader.execute(
            f"SELECT count(*) FROM calls WHERE {where}",
            args,
        ).fetchone()
        return int(row[0])

    async def prune_calls(self, ended_before: int, limit: int) -> int:
        def prune(conn: sqlite3.Connection) -> int:
            ids = [row[0] for row in conn.execute(ended_calls_sql("?"), (ended_before, limit))]
            if not ids:
                return 0
            marks = ",".join("?" * len(ids))
            for table in CALL_SIDE_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE id IN ({marks})", ids)
            return len(ids)

        return await self.db.write(prune, durable=False)

    async def queue_depths(self) -> list[QueueDepth]:
        # counting a long queue takes a while (a quarter second per 300,000 calls): on a
        # connection of its own in a thread, which SQLite lets run beside the event loop
        return await asyncio.to_thread(self._queue_depths)

    def _queue_depths(self) -> list[QueueDepth]:
        uri = f"{self.db.path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            rows = conn.execute(QUEUE_DEPTHS_SQL).fetchall()
        finally:
            conn.close()
        return [QueueDepth(r[0], int(r[1]), int(r[2])) for r in rows]
