"""A PostgreSQL database shared by the PostgreSQL store and queue: two connection pools.

Like the embedded store, only writes that promise durability to a caller (accepting a call,
storing an entity) wait for the WAL flush; bookkeeping writes (leases, outcomes, callback
attempts) go through connections with synchronous_commit off, which never corrupts and at
worst forgets the last few hundred milliseconds of them if PostgreSQL itself crashes (a
finished call may then run again). With sync=NORMAL every write goes the relaxed way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from sluice.store.pg_migrate import check_schema, migrate, redacted

Row = tuple[Any, ...]
Connection = psycopg.AsyncConnection[Row]


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class PgDatabase:
    def __init__(
        self, url: str, sync: str = "FULL", migrate: bool = False, pool_size: int = 8
    ) -> None:
        self.url = url
        self.sync = sync
        self.migrate = migrate
        self.pool_size = pool_size
        self._pools: dict[bool, AsyncConnectionPool[Connection]] = {}

    async def open(self) -> None:
        if self._pools:
            return  # the store and the queue share one database; the first opens it
        if self.migrate:
            await migrate(self.url)
        durable = self._pool("sluice-durable", relaxed=self.sync != "FULL")
        self._pools = {True: durable, False: durable}
        if self.sync == "FULL":
            self._pools[False] = self._pool("sluice-relaxed", relaxed=True)
        try:
            for pool in set(self._pools.values()):
                await pool.open(wait=True, timeout=30)
            async with self.connection() as conn:
                await check_schema(conn, self.url)
        except PoolTimeout as exc:
            await self.close()
            raise ConnectionError(f"cannot connect to PostgreSQL at {redacted(self.url)}") from exc
        except BaseException:
            await self.close()
            raise

    def _pool(self, name: str, relaxed: bool) -> AsyncConnectionPool[Connection]:
        kwargs: dict[str, Any] = {"autocommit": True}
        if relaxed:
            kwargs["options"] = "-c synchronous_commit=off"
        return AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self.pool_size,
            kwargs=kwargs,
            open=False,
            name=name,
            # a connection broken by a PostgreSQL restart is replaced, not handed out
            check=AsyncConnectionPool.check_connection,
        )

    async def close(self) -> None:
        pools, self._pools = set(self._pools.values()), {}
        for pool in pools:
            await pool.close()

    @asynccontextmanager
    async def connection(self, durable: bool = True) -> AsyncIterator[Connection]:
        """A connection in autocommit mode: each statement commits, unless inside
        `conn.transaction()`; `durable` picks whether commits wait for the WAL flush."""
        if not self._pools:
            raise RuntimeError("database is not open")
        async with self._pools[durable].connection() as conn:
            yield conn

    async def fetchone(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        async with self.connection() as conn:
            return await (await conn.execute(sql, args)).fetchone()

    async def fetchall(self, sql: str, args: Sequence[Any] = (), durable: bool = True) -> list[Row]:
        """The rows of a query (or of a write's RETURNING: `durable` as for `execute`)."""
        async with self.connection(durable) as conn:
            return await (await conn.execute(sql, args)).fetchall()

    async def execute(self, sql: str, args: Sequence[Any] = (), durable: bool = True) -> int:
        """One write statement in its own transaction; the rows it changed."""
        async with self.connection(durable) as conn:
            return (await conn.execute(sql, args)).rowcount
