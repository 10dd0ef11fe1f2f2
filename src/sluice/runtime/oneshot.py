"""A process that serves one call and exits: wait for its end within the call's time and
memory limits, then reap it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sluice.runtime.capacity import Capacity
from sluice.runtime.child import Child
from sluice.runtime.memory import MemoryWatch
from sluice.timing import now_ms

#: how long the output of an exited process may take to drain
_DRAIN_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Ended:
    timed_out: bool
    over_memory: bool
    #: epoch ms when the process ended or was killed
    end_ms: int
    #: the exit status (negative: killed by that signal); None if unknown
    returncode: int | None


async def run_once(
    capacity: Capacity,
    start: Callable[[], Awaitable[Child]],
    memory: MemoryWatch,
    memory_mb: int,
    timeout_ms: int,
) -> Ended:
    """Start a process that serves one call (once the cap on every family's processes has
    room, as one of the starts under way) and run it to its end, holding its slot until
    then. What `start` raises (OSError) and CapacityClosed propagate."""
    async with capacity.slot():
        async with capacity.starting:
            child = await start()
        return await run_to_end(child, memory, memory_mb, timeout_ms)


async def run_to_end(child: Child, memory: MemoryWatch, memory_mb: int, timeout_ms: int) -> Ended:
    """Wait until `child` exits, killing it past `timeout_ms` or above `memory_mb`; then
    close it (its output drained, its directory removed)."""
    over_memory = False

    def exceeded() -> None:
        nonlocal over_memory
        over_memory = True
        child.kill()

    memory.watch(child.pid, memory_mb, exceeded)
    timed_out = False
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            await asyncio.shield(child.exited)
    except TimeoutError:
        timed_out = True
        child.kill()
    finally:
        memory.unwatch(child.pid)
        end_ms = now_ms()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_SECONDS):
                await asyncio.shield(child.closed)
        returncode = child.returncode
        await child.close()
    return Ended(timed_out, over_memory, end_ms, returncode)
