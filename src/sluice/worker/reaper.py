"""Calls whose worker vanished: run them again, or end them once out of attempts."""

from __future__ import annotations

from sluice.queue.base import Queue
from sluice.records import CallState, Lease
from sluice.store.base import failure
from sluice.timing import now_ms


async def reap(queue: Queue, leases: list[Lease], max_attempts: int, why: str) -> list[Lease]:
    """Requeue or end each lease; returns the leases ended for good (their waiters to wake)."""
    ended = []
    for lease in leases:
        if lease.attempt < max_attempts:
            await queue.nak(lease, now_ms())
            continue
        outcome = failure(
            lease,
            CallState.PLATFORM_ERROR,
            f"The call was interrupted {lease.attempt} times ({why}) and was not run again.",
        )
        if await queue.ack(lease, outcome):
            ended.append(lease)
    return ended
