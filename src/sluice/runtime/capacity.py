"""One cap on the function processes of every family together (OpenWhisk's warm pool and
its stem cells, Fn's hot formats, OpenFaaS's http servers, and the processes of one call:
executables, OpenFaaS's process functions, Fn's default format), and one bound on the starts
under way. Each family holds a slot per process, from its start until it is stopped, and
the warm ones register a source of their idle processes: a start that finds every slot
taken stops the least recently used idle process of any family, or waits until a slot or a
process is freed."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterable
from typing import NamedTuple

from sluice.observe import metrics


class CapacityClosed(Exception):
    """The runtime is shutting down: no more processes start."""


#: a call's error when it comes as the runtime shuts down (CapacityClosed)
SHUTTING_DOWN = "The runtime is shutting down."


class Idle(NamedTuple):
    """An idle process a family would give up for another's start."""

    #: when it was last used (time.monotonic())
    since: float
    #: kills it now and forgets it, releasing its slot
    stop: Callable[[], None]


IdleSource = Callable[[], Iterable[Idle]]


class Capacity:
    def __init__(self, max_processes: int, max_starting: int = 0) -> None:
        self.max_processes = max(1, max_processes)
        #: starts under way at most: a burst of cold calls starts a few interpreters at a
        #: time, each soon done, rather than all at once, each slowed by the others (and the
        #: accept path with them, when it shares the cores)
        self.starting = asyncio.Semaphore(max_starting or max(2, os.cpu_count() or 1))
        #: slots taken: live processes and processes being started, every family together
        self.taken = 0
        self._sources: list[IdleSource] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False

    def register(self, source: IdleSource) -> None:
        self._sources.append(source)

    def take(self) -> bool:
        """A free slot, if there is one, without stopping anything (for stem cells)."""
        if self._closed or self.taken >= self.max_processes:
            return False
        self.taken += 1
        return True

    def room(self) -> bool:
        """Whether a start would get a slot now: a free one or an idle process's."""
        return self.taken < self.max_processes or self._oldest_idle() is not None

    async def reserve(self) -> None:
        """A slot for a new process: a free one, else that of the least recently used idle
        process of any family (stopped), else the first freed once a call ends."""
        while True:
            if self._closed:
                raise CapacityClosed
            if self.taken < self.max_processes:
                self.taken += 1
                return
            victim = self._oldest_idle()
            if victim is not None:
                metrics.pool_evicted("room")
                victim.stop()
                continue
            await self.wait()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A slot held for the life of a process that serves one call and exits."""
        await self.reserve()
        try:
            yield
        finally:
            self.release()

    def release(self) -> None:
        """A process is gone, or its start failed: its slot is free."""
        self.taken -= 1
        self.wake()

    async def wait(self) -> None:
        """Until a slot is freed, a process becomes idle or has room for a call again."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def wake(self) -> None:
        """Every waiter looks again (each takes what it finds, or waits again)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def close(self) -> None:
        self._closed = True
        self.wake()

    def _oldest_idle(self) -> Idle | None:
        idle = [found for source in self._sources for found in source()]
        return min(idle, key=_since, default=None)


def _since(idle: Idle) -> float:
    return idle.since
