"""The node lock: on PostgreSQL, one process at a time runs calls under a node's name (the
name whose running calls a start hands back), whatever its host says."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sluice.catalogue import node_lock
from sluice.config import Settings


def test_one_process_per_node_name_on_postgres(pg_database: str, tmp_path: Path) -> None:
    same = Settings(store=pg_database, data_dir=tmp_path / "a")
    other = Settings(store=pg_database, data_dir=tmp_path / "b")

    async def check() -> None:
        first, second, elsewhere = node_lock(same), node_lock(same), node_lock(other)
        assert first is not None
        assert second is not None
        assert elsewhere is not None
        assert await first.acquire()
        assert not await second.acquire()  # the same node: refused while the first runs
        assert await elsewhere.acquire()  # another data dir is another node
        await first.release()
        assert await second.acquire()
        for lock in (second, elsewhere):
            await lock.release()

    asyncio.run(check())


def test_no_node_lock_on_the_embedded_store(tmp_path: Path) -> None:
    assert node_lock(Settings(data_dir=tmp_path)) is None
