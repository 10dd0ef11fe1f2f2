"""Durability for commits made at synchronous=NORMAL: one fdatasync of the WAL file, shared
by every commit made before it started.

In WAL mode, synchronous=FULL differs from NORMAL only in that each COMMIT ends with a sync
of the WAL file. Committing at NORMAL on the event loop (statements and frames, no disk
wait) and then waiting for a sync that began after the commit gives the caller the same
promise (its frames are on disk) without a thread hop per statement.

Where the sync happens depends on the disk. A fast one (a sync in a few hundred us, as on
SSDs and most virtual disks) is synced by the event loop itself, right after the commit
(the database commits a loop turn's inline writes together, so that is once per turn):
waking a thread, and the thread waking the loop again, costs more
than such a sync (on a 2-core VM whose syncs take 130 us: 8-9% less server CPU per accepted
call at 1,000 and 2,000 calls/s, bench/journal/2026-12-04-wal-sync-on-the-loop.md). A slow
disk is synced by a thread, so the loop never waits on it, and every commit made meanwhile
shares its next sync. Each sync is timed and the choice follows a running average, so a disk
that slows down moves its syncs off the loop.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from sluice.observe import metrics
from sluice.store.sqlite.handback import hand_back, settle

#: a future, its loop, and the value it gets once the sync is made
Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Any]

#: syncs that take less than this (on average) are made on the event loop
INLINE_BELOW_S = 0.0003
#: the weight of the latest sync in the running average
_WEIGHT = 0.1


class WalSync:
    def __init__(self, wal: Path, inline_below_s: float = INLINE_BELOW_S) -> None:
        # SQLite keeps its WAL file (the same inode) while any connection is open, and
        # never locks it: holding a descriptor of our own cannot disturb its locking
        self._fd = os.open(wal, os.O_RDONLY | os.O_CLOEXEC)
        self._inline_below_s = inline_below_s
        #: how long a sync takes here, a running average (seeded by one now; a sync that
        #: fails tells nothing, and its error reaches the writes that wait for the next)
        self.sync_seconds = 0.0
        self._sync()
        self._waiting: queue.SimpleQueue[Waiter | None] = queue.SimpleQueue()  # None: stop
        #: syncs made for waiters so far (each serves every waiter that came before it started)
        self.syncs = 0
        self._thread = threading.Thread(target=self._run, name="sluice-wal-sync", daemon=True)
        self._thread.start()

    @property
    def inline(self) -> bool:
        """Syncs are made on the event loop (the disk is fast), not by the thread."""
        return self.sync_seconds < self._inline_below_s

    def settle_synced(self, results: list[tuple[asyncio.Future[Any], Any]]) -> None:
        """Give each future its value once a sync that begins now has finished (or the
        sync's error): for the writes of a commit just made, on the loop they belong to. On
        a fast disk the sync is made here and now."""
        loop = asyncio.get_running_loop()
        if not self.inline:
            for done, value in results:
                self._waiting.put((loop, done, value))
            return
        error = self._sync()
        self.syncs += 1
        settle([(done, error is None, error or value) for done, value in results])

    def close(self) -> None:
        """Stop once the syncs queued to the thread are made (it blocks: call it off the
        loop): the file is closed only once no sync can be made on it any more."""
        self._waiting.put(None)
        self._thread.join()
        os.close(self._fd)

    def _sync(self) -> OSError | None:
        """One timed sync: None, or the error it failed with."""
        started = time.perf_counter()
        try:
            os.fdatasync(self._fd)
        except OSError as exc:
            return exc
        took = time.perf_counter() - started
        self.sync_seconds += (took - self.sync_seconds) * _WEIGHT
        metrics.store_synced(took)
        return None

    def _run(self) -> None:
        stop = False
        while not stop:
            # everything waiting now is served by the sync that starts after this drain
            batch = [self._waiting.get()]
            while True:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            waiters = [job for job in batch if job is not None]
            stop = len(waiters) < len(batch)
            if not waiters:
                continue
            error = self._sync()
            self.syncs += 1
            hand_back((loop, done, error is None, error or value) for loop, done, value in waiters)
