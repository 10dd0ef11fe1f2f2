"""Fires alarm schedules when their time comes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sluice.engine.alarms import Alarms
from sluice.engine.clock import now_ms

log = logging.getLogger("sluice.scheduler")

_TICK_SECONDS = 1.0


class Scheduler:
    def __init__(self, alarms: Alarms, wake_workers: Callable[[], None]) -> None:
        self.alarms = alarms
        self.wake_workers = wake_workers
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.alarms.install()
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def _loop(self) -> None:
        while True:
            try:
                if await self.alarms.fire_due(now_ms()):
                    self.wake_workers()
            except Exception:
                log.exception("firing alarms failed; retrying")
            await asyncio.sleep(_TICK_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
