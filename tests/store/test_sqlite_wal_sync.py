"""The WAL sync that makes inline commits durable: many waiting at once share a few syncs, on
the event loop (a fast disk) or on the sync thread (a slow one), and a failed sync is
reported to every write it was to make durable."""

from __future__ import annotations

import asyncio
import errno
import math
from pathlib import Path

import pytest

from sluice.store.sqlite_wal_sync import WalSync

#: inline_below_s that makes every sync happen on the loop, or every one on the thread
ON_THE_LOOP = math.inf
ON_THE_THREAD = 0.0
MODES = pytest.mark.parametrize(
    "inline_below_s", [ON_THE_LOOP, ON_THE_THREAD], ids=["loop", "thread"]
)


@MODES
def test_waiters_at_once_share_a_few_syncs(tmp_path: Path, inline_below_s: float) -> None:
    wal = tmp_path / "file-wal"
    wal.write_bytes(b"x" * 4096)

    async def scenario() -> tuple[bool, int]:
        sync = WalSync(wal, inline_below_s)
        try:
            await asyncio.wait_for(asyncio.gather(*(sync.synced() for _ in range(500))), 30)
            return sync.inline, sync.syncs
        finally:
            await sync.aclose()

    inline, syncs = asyncio.run(scenario())
    assert inline is (inline_below_s == ON_THE_LOOP)
    assert 1 <= syncs <= 10


def test_a_sync_waits_for_the_turn_that_asked_for_it(tmp_path: Path) -> None:
    """On the loop, a sync starts after the work of the turn that asked for it: a commit
    made later in that turn is covered by it too, one made in the next turn is not."""
    wal = tmp_path / "file-wal"
    wal.write_bytes(b"x" * 4096)

    async def scenario() -> list[int]:
        sync = WalSync(wal, ON_THE_LOOP)
        try:
            first = sync.synced()
            second = sync.synced()  # same turn: same sync
            seen = [sync.syncs]
            await first
            seen.append(sync.syncs)
            assert second.done()
            await sync.synced()  # a new turn: a new sync
            seen.append(sync.syncs)
            return seen
        finally:
            await sync.aclose()

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_syncs_are_timed_and_a_slow_disk_is_synced_by_the_thread(tmp_path: Path) -> None:
    wal = tmp_path / "file-wal"
    wal.write_bytes(b"x" * 4096)

    async def scenario() -> tuple[float, bool]:
        sync = WalSync(wal, inline_below_s=1e-9)  # no real disk syncs that fast
        try:
            await sync.synced()
            return sync.sync_seconds, sync.inline
        finally:
            await sync.aclose()

    seconds, inline = asyncio.run(scenario())
    assert seconds > 1e-9
    assert not inline


@MODES
def test_a_failed_sync_fails_every_write_it_was_for(inline_below_s: float) -> None:
    async def scenario() -> list[BaseException | None]:
        sync = WalSync(Path("/dev/null"), inline_below_s)  # fdatasync: EINVAL
        try:
            return await asyncio.gather(*(sync.synced() for _ in range(3)), return_exceptions=True)
        finally:
            await sync.aclose()

    outcomes = asyncio.run(scenario())
    assert [getattr(o, "errno", None) for o in outcomes] == [errno.EINVAL] * 3


def test_closing_syncs_what_the_turn_still_owes(tmp_path: Path) -> None:
    """A commit whose sync was to follow its turn is synced before the file is closed, not
    reported as failed (or, worse, synced on a descriptor number reused by another file)."""
    wal = tmp_path / "file-wal"
    wal.write_bytes(b"x" * 4096)

    async def scenario() -> tuple[bool, BaseException | None, int]:
        sync = WalSync(wal, ON_THE_LOOP)
        owed = sync.synced()
        await sync.aclose()
        return owed.done(), owed.exception() if owed.done() else None, sync.syncs

    assert asyncio.run(scenario()) == (True, None, 1)


@MODES
def test_commits_just_made_get_their_values_after_a_sync(
    tmp_path: Path, inline_below_s: float
) -> None:
    """What a transaction's writes returned reaches each once a sync that began after the
    commit has finished; on the loop it is made at once and serves the turn's waiters too."""
    wal = tmp_path / "file-wal"
    wal.write_bytes(b"x" * 4096)

    async def scenario() -> tuple[list[object], int, bool]:
        sync = WalSync(wal, inline_below_s)
        try:
            loop = asyncio.get_running_loop()
            owed = sync.synced()
            writes = [loop.create_future() for _ in range(3)]
            sync.settle_synced([(done, f"value{i}") for i, done in enumerate(writes)])
            values = await asyncio.wait_for(asyncio.gather(*writes), 30)
            await asyncio.wait_for(owed, 30)
            return values, sync.syncs, owed.done()
        finally:
            await sync.aclose()

    values, syncs, owed_done = asyncio.run(scenario())
    assert values == ["value0", "value1", "value2"]
    assert owed_done
    # on the thread the waiters queued meanwhile share one sync, or take two
    assert syncs == 1 if inline_below_s == ON_THE_LOOP else 1 <= syncs <= 2


@MODES
def test_a_failed_sync_fails_the_commits_it_was_for(inline_below_s: float) -> None:
    async def scenario() -> list[BaseException | str]:
        sync = WalSync(Path("/dev/null"), inline_below_s)  # fdatasync: EINVAL
        try:
            loop = asyncio.get_running_loop()
            writes = [loop.create_future() for _ in range(2)]
            sync.settle_synced([(done, "value") for done in writes])
            return await asyncio.gather(*writes, return_exceptions=True)
        finally:
            await sync.aclose()

    outcomes = asyncio.run(scenario())
    assert [getattr(o, "errno", o) for o in outcomes] == [errno.EINVAL] * 2
