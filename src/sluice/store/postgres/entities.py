"""The store on PostgreSQL: the same tables and rules as the embedded store
(store/sqlite/entities.py), through psycopg's async connection pools (see db.py)."""

from __future__ import annotations

import orjson
from psycopg import errors

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import Call, Callback, DeadLetter, Entity, Namespace
from sluice.store.base import QUEUE_DEPTHS_SQL, CallFilter, QueueDepth
from sluice.store.postgres.db import PgDatabase
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


class PostgresStore:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    # Namespaces
    async def create_namespace(self, namespace: Namespace) -> None:
        try:
            await self.db.execute(
                f"INSERT INTO namespaces ({NAMESPACE_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",
                (
                    namespace.name,
                    namespace.uuid,
                    namespace.key_hash,
                    namespace.generation,
                    namespace.created,
                ),
            )
        except errors.UniqueViolation as exc:
            raise Conflict(f"namespace {namespace.name} already exists") from exc

    async def get_namespace(self, name: str) -> Namespace | None:
        row = await self.db.fetchone(
            f"SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE name = %s", (name,)
        )
        return namespace_from_row(row) if row else None

    async def namespace_by_uuid(self, uuid: str) -> Namespace | None:
        row = await self.db.fetchone(
            f"SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE uuid = %s", (uuid,)
        )
        return namespace_from_row(row) if row else None

    async def list_namespaces(self) -> list[Namespace]:
        rows = await self.db.fetchall(f"SELECT {NAMESPACE_COLUMNS} FROM namespaces ORDER BY name")
        return [namespace_from_row(r) for r in rows]

    async def set_namespace_key(self, name: str, key_hash: str, generation: int) -> None:
        await self.db.execute(
            "UPDATE namespaces SET key_hash = %s, generation = %s WHERE name = %s",
            (key_hash, generation, name),
        )

    async def delete_namespace(self, name: str) -> bool:
        async with self.db.connection() as conn, conn.transaction():
            for table in NAMESPACE_TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE namespace = %s", (name,))
            cursor = await conn.execute("DELETE FROM namespaces WHERE name = %s", (name,))
            return cursor.rowcount > 0

    # Entities
    async def get_entity(self, namespace: str, collection: str, name: str) -> Entity | None:
        row = await self.db.fetchone(
            f"SELECT {ENTITY_COLUMNS} FROM entities"
            " WHERE namespace = %s AND collection = %s AND name = %s",
            (namespace, collection, name),
        )
        return entity_from_row(row) if row else None

    async def put_entity(self, entity: Entity, replaces: str | None) -> None:
        doc = orjson.dumps(entity.doc)
        if replaces is None:
            try:
                await self.db.execute(
                    f"INSERT INTO entities ({ENTITY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        entity.namespace,
                        entity.collection,
                        entity.name,
                        entity.version,
                        entity.updated,
                        doc,
                    ),
                )
            except errors.UniqueViolation as exc:
                raise Conflict() from exc
            return
        changed = await self.db.execute(
            "UPDATE entities SET version = %s, updated = %s, doc = %s"
            " WHERE namespace = %s AND collection = %s AND name = %s AND version = %s",
            (
                entity.version,
                entity.updated,
                doc,
                entity.namespace,
                entity.collection,
                entity.name,
                replaces,
            ),
        )
        if not changed:
            raise Conflict("the entity was changed or deleted meanwhile; try again")

    async def delete_entity(self, namespace: str, collection: str, name: str) -> Entity | None:
        row = await self.db.fetchone(
            "DELETE FROM entities WHERE namespace = %s AND collection = %s AND name = %s"
            f" RETURNING {ENTITY_COLUMNS}",
            (namespace, collection, name),
        )
        return entity_from_row(row) if row else None

    async def list_entities(
        self, namespace: str, collection: str, skip: int, limit: int, prefix: str | None = None
    ) -> list[Entity]:
        where, args = entity_where("%s", namespace, collection, prefix)
        rows = await self.db.fetchall(
            f"SELECT {ENTITY_COLUMNS} FROM entities"
            f" WHERE {where} ORDER BY updated DESC, name LIMIT %s OFFSET %s",
            (*args, limit, skip),
        )
        return [entity_from_row(r) for r in rows]

    async def count_entities(
        self, namespace: str, collection: str, prefix: str | None = None
    ) -> int:
        where, args = entity_where("%s", namespace, collection, prefix)
        row = await self.db.fetchone(f"SELECT count(*) FROM entities WHERE {where}", args)
        return int(row[0]) if row else 0

    # Calls
    async def get_call(self, call_id: CallId) -> Call | None:
        row = await self.db.fetchone(
            f"SELECT {CALL_COLUMNS} FROM calls WHERE id = %s", (call_id.raw,)
        )
        return call_from_row(row) if row else None

    async def get_callback(self, call_id: CallId) -> Callback | None:
        row = await self.db.fetchone(
            f"SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE id = %s", (call_id.raw,)
        )
        return callback_from_row(row) if row else None

    async def get_blob(self, call_id: CallId) -> bytes | None:
        row = await self.db.fetchone("SELECT data FROM blobs WHERE id = %s", (call_id.raw,))
        return bytes(row[0]) if row else None

    async def dead_letters(
        self, namespace: str, path: str | None, limit: int, call_id: CallId | None = None
    ) -> list[DeadLetter]:
        where, args = dead_letter_where("%s", namespace, path, call_id)
        rows = await self.db.fetchall(
            "SELECT id, namespace, path, reason, created FROM dead_letters"
            f" WHERE {where} ORDER BY id DESC LIMIT %s",
            (*args, limit),
        )
        return [DeadLetter(CallId(bytes(r[0])), r[1], r[2], r[3], r[4]) for r in rows]

    async def remove_dead_letter(self, namespace: str, call_id: CallId) -> bool:
        removed = await self.db.execute(
            "DELETE FROM dead_letters WHERE namespace = %s AND id = %s",
            (namespace, call_id.raw),
        )
        return removed > 0

    async def list_calls(self, query: CallFilter) -> list[Call]:
        where, args = call_where("%s", query)
        rows = await self.db.fetchall(
            f"SELECT {CALL_COLUMNS} FROM calls WHERE {where} ORDER BY id DESC LIMIT %s OFFSET %s",
            (*args, query.limit, query.skip),
        )
        return [call_from_row(r) for r in rows]

    async def count_calls(self, query: CallFilter) -> int:
        where, args = call_where("%s", query)
        row = await self.db.fetchone(f"SELECT count(*) FROM calls WHERE {where}", args)
        return int(row[0]) if row else 0

    async def prune_calls(self, ended_before: int, limit: int) -> int:
        async with self.db.connection(durable=False) as conn, conn.transaction():
            rows = await (
                await conn.execute(ended_calls_sql("%s"), (ended_before, limit))
            ).fetchall()
            ids = [row[0] for row in rows]
            for table in CALL_SIDE_TABLES:
                if ids:
                    await conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (ids,))
        return len(ids)

    async def queue_depths(self) -> list[QueueDepth]:
        rows = await self.db.fetchall(QUEUE_DEPTHS_SQL, durable=False)
        return [QueueDepth(r[0], int(r[1]), int(r[2])) for r in rows]
