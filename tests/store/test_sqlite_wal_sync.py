"""Durable writes committed on the event loop at synchronous=NORMAL wait for a sync of the WAL
file that began after their commit; many waiting at once share a few syncs, and a failed
sync is reported to every write it was to make durable."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
from pathlib import Path

import pytest

from sluice.store.sqlite_db import Database
from sluice.store.sqlite_wal_sync import WalSync


def _insert(name: str) -> object:
    def write(conn: sqlite3.Connection) -> str:
        conn.execute(
            "INSERT INTO namespaces (name, uuid, key_hash, generation, created)"
            " VALUES (?, ?, 'h', 1, 0)",
            (name, f"uuid-{name}"),
        )
        return name

    return write


def test_waiters_at_once_share_a_few_syncs(tmp_path: Path) -> None:
    wal = tmp_path / "file-wal"
    wal.write_bytes(b"x" * 4096)

    async def scenario() -> int:
        sync = WalSync(wal)
        try:
            await asyncio.wait_for(asyncio.gather(*(sync.synced() for _ in range(500))), 30)
            return sync.syncs
        finally:
            await asyncio.to_thread(sync.close)

    syncs = asyncio.run(scenario())
    assert 1 <= syncs <= 10


def test_a_failed_sync_fails_every_write_it_was_for() -> None:
    async def scenario() -> list[BaseException | None]:
        sync = WalSync(Path("/dev/null"))  # fdatasync: EINVAL
        try:
            return await asyncio.gather(*(sync.synced() for _ in range(3)), return_exceptions=True)
        finally:
            await asyncio.to_thread(sync.close)

    outcomes = asyncio.run(scenario())
    assert [getattr(o, "errno", None) for o in outcomes] == [errno.EINVAL] * 3


@pytest.mark.parametrize("level", ["FULL", "NORMAL"])
def test_only_durable_writes_at_full_wait_for_a_sync(tmp_path: Path, level: str) -> None:
    async def scenario() -> tuple[int, int, int, set[str]]:
        db = Database(tmp_path / "sluice.db", sync=level)
        await db.open()
        try:
            before = db.wal_syncs
            await db.write(_insert("relaxed"), durable=False)  # type: ignore[arg-type]
            after_relaxed = db.wal_syncs
            await db.write(_insert("durable"))  # type: ignore[arg-type]
            names = {row[0] for row in db.reader.execute("SELECT name FROM namespaces")}
            return before, after_relaxed, db.wal_syncs, names
        finally:
            await db.close()

    before, after_relaxed, after_durable, names = asyncio.run(scenario())
    assert names == {"relaxed", "durable"}
    assert after_relaxed == before
    assert after_durable == (before + 1 if level == "FULL" else 0)
