"""The store on SQLite: see sqlite_db.py for how reads and writes reach the file."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import (
    Call,
    Callback,
    CallbackState,
    CallState,
    DeadLetter,
    Entity,
    Namespace,
)
from sluice.store.base import CallFilter
from sluice.store.sqlite_db import Database

_CALL_COLUMNS = (
    "id, namespace, path, state, params, meta, memory_mb, created, started, ended, attempts, record"
)


def call_from_row(row: tuple[Any, ...]) -> Call:
    return Call(
        id=CallId(row[0]),
        namespace=row[1],
        path=row[2],
        state=CallState(row[3]),
        params=orjson.loads(row[4]),
        meta=orjson.loads(row[5]),
        memory_mb=row[6],
        created=row[7],
        started=row[8],
        ended=row[9],
        attempts=row[10],
        record=orjson.loads(row[11]) if row[11] is not None else None,
    )


def callback_from_row(row: tuple[Any, ...]) -> Callback:
    return Callback(
        id=CallId(row[0]),
        namespace=row[1],
        url=row[2],
        state=CallbackState(row[3]),
        attempts=row[4],
        due=row[5],
        last_status=row[6],
        last_error=row[7],
        settled=row[8],
    )


CALLBACK_COLUMNS = "id, namespace, url, state, attempts, due, last_status, last_error, settled"


def _entity_from_row(row: tuple[Any, ...]) -> Entity:
    return Entity(row[0], row[1], row[2], row[3], row[4], orjson.loads(row[5]))


def _namespace_from_row(row: tuple[Any, ...]) -> Namespace:
    return Namespace(row[0], row[1], row[2], row[3], row[4])


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqliteStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

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

        await self.db.write(insert)

    async def get_namespace(self, name: str) -> Namespace | None:
        row = self.db.reader.execute(
            "SELECT name, uuid, key_hash, generation, created FROM namespaces WHERE name = ?",
            (name,),
        ).fetchone()
        return _namespace_from_row(row) if row else None

    async def namespace_by_uuid(self, uuid: str) -> Namespace | None:
        row = self.db.reader.execute(
            "SELECT name, uuid, key_hash, generation, created FROM namespaces WHERE uuid = ?",
            (uuid,),
        ).fetchone()
        return _namespace_from_row(row) if row else None

    async def list_namespaces(self) -> list[Namespace]:
        rows = self.db.reader.execute(
            "SELECT name, uuid, key_hash, generation, created FROM namespaces ORDER BY name"
        ).fetchall()
        return [_namespace_from_row(r) for r in rows]

    async def set_namespace_key(self, name: str, key_hash: str, generation: int) -> None:
        await self.db.write(
            lambda conn: conn.execute(
                "UPDATE namespaces SET key_hash = ?, generation = ? WHERE name = ?",
                (key_hash, generation, name),
            )
        )

    async def delete_namespace(self, name: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM entities WHERE namespace = ?", (name,))
            conn.execute("DELETE FROM calls WHERE namespace = ?", (name,))
            conn.execute("DELETE FROM callbacks WHERE namespace = ?", (name,))
            conn.execute("DELETE FROM idempotency WHERE namespace = ?", (name,))
            conn.execute("DELETE FROM dead_letters WHERE namespace = ?", (name,))
            conn.execute("DELETE FROM blobs WHERE namespace = ?", (name,))
            return conn.execute("DELETE FROM namespaces WHERE name = ?", (name,)).rowcount > 0

        return await self.db.write(delete)

    # Entities
    async def get_entity(self, namespace: str, collection: str, name: str) -> Entity | None:
        row = self.db.reader.execute(
            "SELECT namespace, collection, name, version, updated, doc FROM entities"
            " WHERE namespace = ? AND collection = ? AND name = ?",
            (namespace, collection, name),
        ).fetchone()
        return _entity_from_row(row) if row else None

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

        await self.db.write(put)

    async def delete_entity(self, namespace: str, collection: str, name: str) -> Entity | None:
        def delete(conn: sqlite3.Connection) -> Entity | None:
            row = conn.execute(
                "DELETE FROM entities WHERE namespace = ? AND collection = ? AND name = ?"
                " RETURNING namespace, collection, name, version, updated, doc",
                (namespace, collection, name),
            ).fetchone()
            return _entity_from_row(row) if row else None

        return await self.db.write(delete)

    def _entity_where(
        self, namespace: str, collection: str, prefix: str | None
    ) -> tuple[str, list[Any]]:
        where = "namespace = ? AND collection = ?"
        args: list[Any] = [namespace, collection]
        if prefix is not None:
            where += " AND name LIKE ? ESCAPE '\\'"
            args.append(_like_prefix(prefix))
        return where, args

    async def list_entities(
        self, namespace: str, collection: str, skip: int, limit: int, prefix: str | None = None
    ) -> list[Entity]:
        where, args = self._entity_where(namespace, collection, prefix)
        rows = self.db.reader.execute(
            "SELECT namespace, collection, name, version, updated, doc FROM entities"
            f" WHERE {where} ORDER BY updated DESC, name LIMIT ? OFFSET ?",
            (*args, limit, skip),
        ).fetchall()
        return [_entity_from_row(r) for r in rows]

    async def count_entities(
        self, namespace: str, collection: str, prefix: str | None = None
    ) -> int:
        where, args = self._entity_where(namespace, collection, prefix)
        row = self.db.reader.execute(
            f"SELECT count(*) FROM entities WHERE {where}",
            args,
        ).fetchone()
        return int(row[0])

    # Calls
    async def get_call(self, call_id: CallId) -> Call | None:
        row = self.db.reader.execute(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE id = ?",
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
        where = "namespace = ?"
        args: list[Any] = [namespace]
        if path is not None:
            where += " AND path = ?"
            args.append(path)
        if call_id is not None:
            where += " AND id = ?"
            args.append(call_id.raw)
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

    def _call_where(self, query: CallFilter) -> tuple[str, list[Any]]:
        where = ["namespace = ?"]
        args: list[Any] = [query.namespace]
        if query.path is not None:
            where.append("path = ?")
            args.append(query.path)
        if query.prefix is not None:
            where.append("path LIKE ? ESCAPE '\\'")
            args.append(_like_prefix(query.prefix))
        if query.before is not None:
            where.append("id < ?")
            args.append(query.before.raw)
        if query.terminal_only:
            where.append("state NOT IN ('queued', 'running')")
        if query.since is not None:
            where.append("coalesce(started, created) >= ?")
            args.append(query.since)
        if query.upto is not None:
            where.append("coalesce(started, created) <= ?")
            args.append(query.upto)
        return " AND ".join(where), args

    async def list_calls(self, query: CallFilter) -> list[Call]:
        where, args = self._call_where(query)
        rows = self.db.reader.execute(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*args, query.limit, query.skip),
        ).fetchall()
        return [call_from_row(r) for r in rows]

    async def count_calls(self, query: CallFilter) -> int:
        where, args = self._call_where(query)
        row = self.db.reader.execute(
            f"SELECT count(*) FROM calls WHERE {where}",
            args,
        ).fetchone()
        return int(row[0])
