"""Durability for commits made at synchronous=NORMAL: one fdatasync of the WAL file, off the
event loop, shared by every commit made before it started.

In WAL mode, synchronous=FULL differs from NORMAL only in that each COMMIT ends with a sync
of the WAL file. Committing at NORMAL on the event loop (statements and frames, no disk
wait) and then waiting here for a sync that began after the commit gives the caller the
same promise (its frames are on disk) without a thread hop per statement: the one thread
here needs the interpreter lock only to start a sync and to hand its waiters back.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from pathlib import Path

from sluice.store.handback import hand_back

Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class WalSync:
    def __init__(self, wal: Path) -> None:
        # SQLite keeps its WAL file (the same inode) while any connection is open, and
        # never locks it: holding a descriptor of our own cannot disturb its locking
        self._fd = os.open(wal, os.O_RDONLY | os.O_CLOEXEC)
        self._waiting: queue.SimpleQueue[Waiter | None] = queue.SimpleQueue()  # None: stop
        #: syncs made so far (each serves every waiter that came before it started)
        self.syncs = 0
        self._thread = threading.Thread(target=self._run, name="sluice-wal-sync", daemon=True)
        self._thread.start()

    def synced(self) -> asyncio.Future[None]:
        """Done once a sync that began after this call has finished: every commit made
        before the call is then on disk."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.put((loop, done))
        return done

    def close(self) -> None:
        self._waiting.put(None)
        self._thread.join()
        os.close(self._fd)

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
            error: OSError | None = None
            try:
                os.fdatasync(self._fd)
            except OSError as exc:
                error = exc
            self.syncs += 1
            hand_back((loop, done, error is None, error) for loop, done in waiters)
