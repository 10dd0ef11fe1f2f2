"""The scheduler lock: of two processes' locks, one holds it until it lets go or dies."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.support.server import wait_for

from sluice.worker.lock import FileLock, Lock, PgAdvisoryLock


async def _one_at_a_time(first: Lock, second: Lock) -> None:
    assert await first.acquire()
    assert await first.acquire()  # still held
    assert not await second.acquire()
    await first.release()
    assert await second.acquire()
    assert not await first.acquire()
    await second.release()


def test_a_file_lock_has_one_holder(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.lock"
    asyncio.run(_one_at_a_time(FileLock(path), FileLock(path)))


def test_a_file_lock_is_freed_when_its_holder_dies(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, sys, time; from pathlib import Path;"
            "from sluice.worker.lock import FileLock;"
            f"assert asyncio.run(FileLock(Path({str(path)!r})).acquire());"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    lock = FileLock(path)
    assert not asyncio.run(lock.acquire())
    holder.kill()
    holder.wait(10)
    holder.stdout.close()
    wait_for(lambda: asyncio.run(lock.acquire()), 10, "the dead holder's lock")


def test_a_postgres_advisory_lock_has_one_holder(pg_url: str) -> None:
    asyncio.run(_one_at_a_time(PgAdvisoryLock(pg_url), PgAdvisoryLock(pg_url)))
