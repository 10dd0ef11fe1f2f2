"""The scheduler's periodic jobs: forget the records of calls past their retention; when
workers run elsewhere, end or requeue the calls of workers that vanished, and publish again
the calls whose publish was lost."""

from __future__ import annotations

import logging

from sluice.notify.waiters import Waiters
from sluice.queue.base import Queue
from sluice.queue.jetstream import JetStreamQueue
from sluice.store.base import Store
from sluice.worker.reaper import reap
from sluice.worker.scheduler import Job

log = logging.getLogger("sluice.housekeeping")

#: how often ended calls past their retention are looked for, and how many go at once
PRUNE_EVERY_MS = 60_000
PRUNE_BATCH = 500


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


def pruner(store: Store, retention_ms: int) -> Job:
    """Forget the calls that ended more than `retention_ms` ago, a batch a tick while there
    are more, else once a minute (or twice a retention, when that is shorter)."""
    every_ms = min(PRUNE_EVERY_MS, max(1000, retention_ms // 2))
    due = 0

    async def run(now: int) -> None:
        nonlocal due
        if now < due:
            return
        pruned = await store.prune_calls(now - retention_ms, PRUNE_BATCH)
        due = now if pruned == PRUNE_BATCH else now + every_ms
        if pruned:
            log.info("forgot %d calls past their retention", pruned)

    return run
