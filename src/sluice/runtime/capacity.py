"""One cap on the function processes of every family together (OpenWhisk's warm pool and
its stem cells, Fn's hot formats, OpenFaaS's http servers, and the processes of one call:
executables, OpenFaaS's process functions, Fn's default format), and one bound on the starts
under way. Each family holds a slot per process, from its start until the process has
exited (it and what it started, as the family's own wait knows it: `Child.close`), not
merely been killed; the warm ones register a source of their idle processes. A start that
finds every slot taken claims the slot of a process on its way out, else stops the least
recently used idle process of any family and waits for its exit, else waits until a slot
or a process is freed."""

from __future__ import annotations

import asyncio
import collections
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
    #: kills it now and forgets it; its family gives its slot back once it has exited
    #: (`Capacity.stopping` at once, `Capacity.exited` then)
    stop: Callable[[], None]


IdleSource = Callable[[], Iterable[Idle]]


class Capacity:
    def __init__(self, max_processes: int, max_starting: int = 0) -> None:
        self.max_processes = max(1, max_processes)
        #: starts under way at most: a burst of cold calls starts a few interpreters at a
        #: time, each soon done, rather than all at once, each slowed by the others (and the
        #: accept path with them, when it shares the cores)
        self.starting = asyncio.Semaphore(max_starting or max(2, os.cpu_count() or 1))
        #: slots taken: live processes, processes being started and processes killed that
        #: have not exited yet, every family together
        self.taken = 0
        #: of those, the processes killed that have not exited yet
        self.dying = 0
        self._sources: list[IdleSource] = []
        self._waiters: list[asyncio.Future[None]] = []
        #: starts each promised the slot of a dying process, handed over as it exits (never
        #: more than `dying`: no idle process is stopped for a slot already on its way)
        self._claims: collections.deque[asyncio.Future[None]] = collections.deque()
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
        """Whether a start would get a slot now: a free one, an idle process's or that of a
        process on its way out no other start claimed (the start waits for its exit)."""
        return (
            self.taken < self.max_processes
            or len(self._claims) < self.dying
            or self._oldest_idle() is not None
        )

    async def reserve(self) -> None:
        """A slot for a new process: a free one, else that of a process on its way out once
        it has exited (one killed, or the least recently used idle process of any family,
        stopped for it), else the first freed once a call ends."""
        while True:
            if self._closed:
                raise CapacityClosed
            if self.taken < self.max_processes:
                self.taken += 1
                return
            if len(self._claims) < self.dying:
                await self._claim()
                return
            victim = self._oldest_idle()
            if victim is not None:
                metrics.pool_evicted("room")
                victim.stop()  # dying now: claimed as the loop goes round
                continue
            await self.wait()

    async def _claim(self) -> None:
        """The slot of a dying process, once a slot is released (its, or any other)."""
        claim = asyncio.get_running_loop().create_future()
        self._claims.append(claim)
        try:
            await claim
        except asyncio.CancelledError:
            if claim.done() and not claim.cancelled():
                self.release()  # handed over as the start was cancelled: passed on
            else:
                with contextlib.suppress(ValueError):
                    self._claims.remove(claim)
            raise

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A slot held for the life of a process that serves one call and exits."""
        await self.reserve()
        try:
            yield
        finally:
            self.release()

    def release(self) -> None:
        """A process has exited, or its start failed before it ran: its slot goes to a
        start that claimed it, else is free."""
        while self._claims:
            claim = self._claims.popleft()
            if not claim.done():
                claim.set_result(None)  # still taken: the start's now
                return
        self.taken -= 1
        self.wake()

    def stopping(self) -> None:
        """A process holding a slot was killed: it holds it until `exited`."""
        self.dying += 1
        self.wake()  # a start waiting may claim it

    def exited(self) -> None:
        """A process `stopping` told of has exited (and was reaped): its slot is released."""
        self.dying -= 1
        self.release()

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
        claims, self._claims = self._claims, collections.deque()
        for claim in claims:
            if not claim.done():
                claim.set_exception(CapacityClosed())
        self.wake()

    def _oldest_idle(self) -> Idle | None:
        idle = [found for source in self._sources for found in source()]
        return min(idle, key=_since, default=None)


def _since(idle: Idle) -> float:
    return idle.since
