"""The scheduler's lock: of several scheduler processes, only its holder fires alarms, reaps
leases and sweeps, so a schedule's tick fires once. Held until released or its holder dies."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

import psycopg

log = logging.getLogger("sluice.lock")

#: the PostgreSQL advisory lock key of the scheduler (any constant; "sluice" in ASCII)
_PG_KEY = 0x736C75696365


class Lock(Protocol):
    async def acquire(self) -> bool:
        """Try to take the lock, or check it is still held: True while this process holds it."""

    async def release(self) -> None:
        """Let another process take it."""


class FileLock:
    """For the embedded store: processes sharing one SQLite file share its host, and flock
    is released by the kernel when its holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class PgAdvisoryLock:
    """For PostgreSQL: a session advisory lock on a connection of its own, released by the
    server when that connection ends (its holder died or was cut off)."""

    def __init__(self, url: str, key: int = _PG_KEY) -> None:
        self.url = url
        self.key = key
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def acquire(self) -> bool:
        try:
            if self._conn is not None:
                await self._conn.execute("SELECT 1")  # still connected: still held
                return True
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            row = await (
                await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            ).fetchone()
            if row is None or not row[0]:
                await conn.close()
                return False
            self._conn = conn
            return True
        except psycopg.Error:
            log.warning("the lock's connection to PostgreSQL failed")
            await self.release()
            return False

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None
