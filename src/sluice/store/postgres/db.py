"""A PostgreSQL database shared by the PostgreSQL store and queue: two connection pools.

Like the embedded store, only writes that promise durability to a caller (accepting a call,
storing an entity) wait for the WAL flush; bookkeeping writes (leases, outcomes, callback
attempts) go through connections with synchronous_commit off, which never corrupts and at
worst forgets the last few hundred milliseconds of them if PostgreSQL itself crashes (a
finished call may then run again). With sync=NORMAL every write goes the relaxed way.
"""

from __future__ import annotations

import ipaddress
import logging
import time
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from sluice.errors import CannotStart, Unavailable
from sluice.store.postgres.migrate import check_schema, migrate, redacted

log = logging.getLogger("sluice.store")

Row = tuple[Any, ...]
Connection = psycopg.AsyncConnection[Row]


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _tell_encryption(conn: Connection, url: str) -> None:
    """Whether libpq's sslmode made the connection TLS, in the start-up log; a warning for
    a server across the network reached in clear."""
    if conn.pgconn.ssl_in_use:
        log.info("PostgreSQL at %s: connected over TLS", redacted(url))
        return
    host = conn.info.hostaddr or conn.info.host
    try:
        local = host.startswith("/") or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        log.warning(
            "PostgreSQL at %s: no TLS: keys' hashes, code and calls cross the network in clear"
            " (add ?sslmode=verify-full&sslrootcert=CA-FILE to the URL)",
            redacted(url),
        )


class PgDatabase:
    def __init__(
        self,
        url: str,
        sync: str = "FULL",
        migrate: bool = False,
        pool_size: int = 8,
        check_idle_seconds: float = 1.0,
    ) -> None:
        self.url = url
        self.check_idle_seconds = check_idle_seconds
        self.sync = sync
        self.migrate = migrate
        self.pool_size = pool_size
        self._pools: dict[bool, AsyncConnectionPool[Connection]] = {}
        #: when each connection was last given back (see _check)
        self._used: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()

    async def open(self) -> None:
        if self._pools:
            return  # the store and the queue share one database; the first opens it
        try:
            if self.migrate:
                await migrate(self.url)
            # one plain connection first: a wrong URL fails at once, not after pool timeouts
            async with await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=10
            ) as conn:
                await check_schema(conn, self.url)
                _tell_encryption(conn, self.url)
        except psycopg.OperationalError as exc:
            why = " ".join(str(exc).split())  # libpq's hints come on lines of their own
            raise CannotStart(f"cannot use PostgreSQL at {redacted(self.url)}: {why}") from exc
        durable = self._pool("sluice-durable", relaxed=self.sync != "FULL")
        self._pools = {True: durable, False: durable}
        if self.sync == "FULL":
            self._pools[False] = self._pool("sluice-relaxed", relaxed=True)
        try:
            for pool in set(self._pools.values()):
                await pool.open(wait=True, timeout=30)
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
            check=self._check,
        )

    async def _check(self, conn: Connection) -> None:
        """A connection idle for a while may have been broken by a PostgreSQL restart: such
        a one is replaced rather than handed out. One busy a moment ago is not checked, so
        that a loaded server does not pay a round trip for each statement."""
        if time.monotonic() - self._used.get(conn, 0.0) >= self.check_idle_seconds:
            await AsyncConnectionPool.check_connection(conn)

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
        try:
            async with self._pools[durable].connection() as conn:
                try:
                    yield conn
                finally:
                    self._used[conn] = time.monotonic()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            # PostgreSQL is down or restarting: the caller may try again (a 503, not a 500);
            # the pool replaces the broken connection meanwhile
            raise Unavailable(f"the store is unavailable: {exc}") from exc

    async def fetchone(
        self, sql: str, args: Sequence[Any] | Mapping[str, Any] = (), durable: bool = True
    ) -> Row | None:
        async with self.connection(durable) as conn:
            return await (await conn.execute(sql, args)).fetchone()

    async def fetchall(self, sql: str, args: Sequence[Any] = (), durable: bool = True) -> list[Row]:
        """The rows of a query (or of a write's RETURNING: `durable` as for `execute`)."""
        async with self.connection(durable) as conn:
            return await (await conn.execute(sql, args)).fetchall()

    async def execute(self, sql: str, args: Sequence[Any] = (), durable: bool = True) -> int:
        """One write statement in its own transaction; the rows it changed."""
        async with self.connection(durable) as conn:
            return (await conn.execute(sql, args)).rowcount
