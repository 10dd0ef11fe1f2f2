"""Fires alarm schedules when their time comes, and runs the periodic housekeeping, while
this process holds the scheduler lock (one scheduler of many does it at a time)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sluice.engine.alarms import Alarms
from sluice.timing import now_ms
from sluice.worker.lock import Lock

log = logging.getLogger("sluice.scheduler")

_TICK_SECONDS = 1.0

#: a periodic job given the time: reaping leases, sweeping lost publishes
Job = Callable[[int], Awaitable[None]]


class Scheduler:
    def __init__(
        self,
        alarms: Alarms,
        wake_workers: Callable[[], None],
        lock: Lock | None = None,
        jobs: list[Job] | None = None,
    ) -> None:
        self.alarms = alarms
        self.wake_workers = wake_workers
        self.lock = lock
        self.jobs = jobs or []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.alarms.install()
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def _loop(self) -> None:
        while True:
            try:
                if self.lock is None or await self.lock.acquire():
                    await self.tick(now_ms())
            except Exception:
                log.exception("firing alarms failed; retrying")
            await asyncio.sleep(_TICK_SECONDS)

    async def tick(self, now: int) -> None:
        if await self.alarms.fire_due(now):
            self.wake_workers()
        for job in self.jobs:
            await job(now)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.lock is not None:
            await self.lock.release()
