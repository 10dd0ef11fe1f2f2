"""The WAL sync that makes inline commits durable: many waiting at once share a few syncs, and
a failed sync is reported to every write it was to make durable."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

from sluice.store.sqlite_wal_sync import WalSync


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
