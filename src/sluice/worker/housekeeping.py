"""The scheduler's periodic jobs when workers run elsewhere: end or requeue the calls of
workers that vanished, and publish again the calls whose publish was lost."""

from __future__ import annotations

from sluice.notify.waiters import Waiters
from sluice.queue.base import Queue
from sluice.queue.jetstream import JetStreamQueue
from sluice.worker.reaper import reap
from sluice.worker.scheduler import Job


def reaper(queue: Queue, waiters: Waiters, max_attempts: int) -> Job:
    async def run(now: int) -> None:
        expired = await queue.expired(now, 100)
        for lease in await reap(queue, expired, max_attempts, "lease expired"):
            waiters.done(lease.id)

    return run


def sweeper(queue: JetStreamQueue, every_ms: int) -> Job:
    due = 0

    async def run(now: int) -> None:
        nonlocal due
        if now >= due:
            due = now + every_ms
            await queue.sweep(now, every_ms)

    return run
