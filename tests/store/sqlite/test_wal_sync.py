"""The WAL sync that makes inline commits durable: the writes of a commit get their values
once a sync that began after it has finished, made at once on the event loop (a fast disk)
or by the sync thread (a slow one, where commits queued meanwhile share a sync), and a
failed sync is reported to every write it was to make durable."""

from __future__ import annotations

import asyncio
import errno
import math
from pathlib import Path
from typing import Any

import pytest

from sluice.store.sqlite.wal_sync import WalSync

#: inline_below_s that makes every sync happen on the loop, or every one on the thread
ON_THE_LOOP = math.inf
ON_THE_THREAD = 0.0
MODES = pytest.mark.parametrize(
    "inline_below_s", [ON_THE_LOOP, ON_THE_THREAD], ids=["loop", "thread"]
)


def _wal(tmp_path: Path) -> Path:
    wal = tmp_path / "file-wal"
    wal.write_bytes(b"x" * 4096)
    return wal


def _commit(sync: WalSync, values: list[Any]) -> list[asyncio.Future[Any]]:
    """The futures of one commit's writes, handed to the sync."""
    loop = asyncio.get_running_loop()
    writes = [loop.create_future() for _ in values]
    sync.settle_synced(list(zip(writes, values, strict=True)))
    return writes


@MODES
def test_a_commits_writes_get_their_values_after_a_sync(
    tmp_path: Path, inline_below_s: float
) -> None:
    async def scenario() -> tuple[list[object], bool, int]:
        sync = WalSync(_wal(tmp_path), inline_below_s)
        try:
            writes = _commit(sync, ["value0", "value1", "value2"])
            values = await asyncio.wait_for(asyncio.gather(*writes), 30)
            return values, sync.inline, sync.syncs
        finally:
            await asyncio.to_thread(sync.close)

    values, inline, syncs = asyncio.run(scenario())
    assert values == ["value0", "value1", "value2"]
    assert inline is (inline_below_s == ON_THE_LOOP)
    assert syncs == 1


def test_on_the_loop_the_sync_is_made_before_the_call_returns(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, bool]:
        sync = WalSync(_wal(tmp_path), ON_THE_LOOP)
        try:
            writes = _commit(sync, [1, 2])
            return sync.syncs, all(w.done() for w in writes)
        finally:
            await asyncio.to_thread(sync.close)

    assert asyncio.run(scenario()) == (1, True)


def test_on_the_thread_commits_queued_meanwhile_share_a_few_syncs(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        sync = WalSync(_wal(tmp_path), ON_THE_THREAD)
        try:
            writes = [w for i in range(500) for w in _commit(sync, [i])]
            values = await asyncio.wait_for(asyncio.gather(*writes), 30)
            return len(set(values)), sync.syncs
        finally:
            await asyncio.to_thread(sync.close)

    distinct, syncs = asyncio.run(scenario())
    assert distinct == 500
    assert 1 <= syncs <= 10


def test_syncs_are_timed_and_a_slow_disk_is_synced_by_the_thread(tmp_path: Path) -> None:
    async def scenario() -> tuple[float, bool, list[object]]:
        sync = WalSync(_wal(tmp_path), inline_below_s=1e-9)  # no real disk syncs that fast
        try:
            values = await asyncio.wait_for(asyncio.gather(*_commit(sync, ["v"])), 30)
            return sync.sync_seconds, sync.inline, values
        finally:
            await asyncio.to_thread(sync.close)

    seconds, inline, values = asyncio.run(scenario())
    assert seconds > 1e-9
    assert not inline
    assert values == ["v"]


@MODES
def test_a_failed_sync_fails_every_write_it_was_for(inline_below_s: float) -> None:
    async def scenario() -> list[BaseException | str]:
        sync = WalSync(Path("/dev/null"), inline_below_s)  # fdatasync: EINVAL
        try:
            writes = _commit(sync, ["a", "b", "c"])
            return await asyncio.gather(*writes, return_exceptions=True)
        finally:
            await asyncio.to_thread(sync.close)

    outcomes = asyncio.run(scenario())
    assert [getattr(o, "errno", o) for o in outcomes] == [errno.EINVAL] * 3


def test_closing_makes_the_syncs_still_queued(tmp_path: Path) -> None:
    """A commit handed to the thread just before closing is synced before the file is
    closed, not reported as failed (or, worse, synced on a descriptor number reused by
    another file)."""

    async def scenario() -> tuple[list[object], int]:
        sync = WalSync(_wal(tmp_path), ON_THE_THREAD)
        writes = _commit(sync, ["last"])
        await asyncio.to_thread(sync.close)
        values = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), 30)
        return values, sync.syncs

    assert asyncio.run(scenario()) == (["last"], 1)
