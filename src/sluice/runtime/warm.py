"""The one warm-pool mechanism of every warm family (OpenWhisk runners in pool.py, Fn's hot
formats in fn_stream.py, OpenFaaS http servers in http_fn.py): idle processes kept per key
(a function version, or a stem cell's launch), the most recently used taken first, a
keep-warm timer per idle process, and every idle process offered to the shared `Capacity`,
which stops the least recently used of any family when a start finds every slot taken (the
start takes its slot once it has exited: the family's `evict` kills it at once, tells
`Capacity.stopping`, and `Capacity.exited` when its exit wait is over).

A family supplies only what differs: whether a process is still alive and how one is
stopped; how it starts, is called and is checked stays with the family."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Hashable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from sluice.observe import metrics
from sluice.runtime.capacity import Capacity, Idle

K = TypeVar("K", bound=Hashable)
P = TypeVar("P", bound=Hashable)


@dataclass
class _Kept:
    """Why a process is in the idle list: since when, and the timer that ends its stay."""

    since: float
    timer: asyncio.TimerHandle | None


class IdleProcesses(Generic[K, P]):
    def __init__(
        self,
        capacity: Capacity,
        alive: Callable[[P], bool],
        evict: Callable[[P], None],
        expire: Callable[[P], None] | None = None,
        metered: bool = True,
    ) -> None:
        #: the slots shared with the other families, told when a process becomes idle
        self.capacity = capacity
        capacity.register(self._offered)
        self._alive = alive
        #: kills a process at once, its slot free once it has exited (for another family's
        #: start, or a dead one)
        self._evict = evict
        #: stops a process whose keep-warm time is over
        self._expire = expire or evict
        #: counts hits, misses and idle evictions (stem cells are no calls' hits)
        self.metered = metered
        self._stacks: dict[K, list[P]] = {}
        self._kept: dict[P, _Kept] = {}

    def take(self, key: K) -> P | None:
        """The most recently used live idle process of `key`, out of the list."""
        stack = self._stacks.get(key, [])
        found: P | None = None
        while stack and found is None:
            process = stack[-1]
            self.remove(process)
            if self._alive(process):
                found = process
            else:
                self._evict(process)  # died before its exit was seen
        if self.metered:
            metrics.pool_hit(found is not None)
        return found

    def joined(self, process: P) -> None:
        """A call goes to `process`, live (idle, or busy with room for more calls): a hit."""
        self.remove(process)
        if self.metered:
            metrics.pool_hit(True)

    def missed(self) -> None:
        """A call finds no live process: one is started for it."""
        if self.metered:
            metrics.pool_hit(False)

    def put(self, key: K, process: P, keep_seconds: float | None) -> None:
        """`process` is idle; it stops after `keep_seconds` unless taken (None: kept until
        evicted or dropped)."""
        timer = None
        if keep_seconds is not None:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(keep_seconds, self._expired, process)
        self._kept[process] = _Kept(time.monotonic(), timer)
        self._stacks.setdefault(key, []).append(process)
        self.capacity.wake()  # a start waiting for a slot may take this one

    def remove(self, process: P) -> bool:
        """Out of the list (taken, or stopped by its family); whether it was in it."""
        kept = self._kept.pop(process, None)
        if kept is None:
            return False
        if kept.timer is not None:
            kept.timer.cancel()
        for key, stack in self._stacks.items():
            if process in stack:
                stack.remove(process)
                if not stack:
                    del self._stacks[key]
                break
        return True

    def count(self, key: K) -> int:
        return len(self._stacks.get(key, ()))

    def stop_where(self, match: Callable[[K], bool]) -> None:
        """Stop the idle processes of the keys `match` picks (dropped or superseded code)."""
        for key, stack in list(self._stacks.items()):
            if match(key):
                for process in list(stack):
                    self.remove(process)
                    self._expire(process)

    def by_key(self) -> dict[K, list[P]]:
        return {key: list(stack) for key, stack in self._stacks.items()}

    def __iter__(self) -> Iterator[P]:
        return iter(list(self._kept))

    def _expired(self, process: P) -> None:
        if self.remove(process):
            if self.metered:
                metrics.pool_evicted("idle")
            self._expire(process)

    def _offered(self) -> Iterator[Idle]:
        for process, kept in list(self._kept.items()):
            yield Idle(kept.since, partial(self._evict_idle, process))

    def _evict_idle(self, process: P) -> None:
        self.remove(process)
        self._evict(process)


class Background:
    """A family's stops under way, awaited when it closes."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def run(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finish(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
