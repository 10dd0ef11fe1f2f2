"""The queue seam: durable accept, leased delivery, fenced completion.

The verbs follow JetStream's (ack, nak with delay, in_progress, term) so that a JetStream
backend maps one to one; the SQLite backend emulates them with `visible_at` and `attempts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sluice.ids import CallId
from sluice.records import Callback, CallbackState, Lease, NewCall
from sluice.store.base import Candidate, Claim, Outcome


class Queue(Protocol):
    async def enqueue(self, *calls: NewCall, durable: bool = True) -> None:
        """The one durable write of accepted calls (all or none); returns once committed.
        A call whose idempotency key its namespace used within IDEMPOTENCY_MS raises
        DuplicateCall with the first call's id, and nothing is written. With `durable`
        False the commit survives a crash of Sluice but waits for no disk: for a caller
        who waits for the end and is told no id before it (else `make_durable` first)."""

    async def make_durable(self, call_id: CallId) -> None:
        """Put a call enqueued with `durable` False on disk, with every commit before it."""

    async def take(
        self, now_ms: int, lease_ms: int, limit: int, admit: Callable[[Candidate], bool]
    ) -> list[Lease]:
        """Lease up to `limit` visible queued calls, oldest first, each only if `admit` says
        so (it reserves capacity as a side effect). Each lease bumps the call's attempts."""

    async def extend(self, leases: list[Lease], until_ms: int) -> None:
        """in_progress: push the leases' expiry forward while the calls run."""

    async def ack(self, lease: Lease, outcome: Outcome) -> bool:
        """Finish the call, fenced on the lease's attempt: False if the lease was lost. The
        same write makes the call's callback, if it has one, due at once."""

    async def nak(self, lease: Lease, visible_at: int) -> bool:
        """Give the call back to the queue, to be taken again from `visible_at`."""

    async def cancel_queued(
        self,
        namespace: str,
        outcome: Outcome,
        call_id: CallId | None = None,
        path: str | None = None,
    ) -> list[CallId]:
        """End the namespace's queued calls (the one `call_id`, or all of `path`) with
        `outcome`, making their callbacks due; the ids of those it ended."""

    async def expired(self, now_ms: int, limit: int) -> list[Lease]:
        """Running calls whose lease ran out (their worker died or stalled)."""

    async def recover(self) -> list[Lease]:
        """Every call left running by a previous process of this node, for a restart."""

    # Callbacks: durable jobs written with their call (NewCall.callback), due once it ends
    async def callbacks_due(self, now_ms: int, lease_ms: int, limit: int) -> list[Callback]:
        """Claim up to `limit` callbacks due by `now_ms`, oldest first: each one's attempts
        go up by one and it is hidden for `lease_ms` (due again then, should its sender
        die before it reports)."""

    async def retry_callback(
        self, callback: Callback, due_ms: int, status: int | None, error: str | None
    ) -> None:
        """The try `callback.attempts` failed: try again from `due_ms`."""

    async def put_back_callback(self, callback: Callback, due_ms: int) -> None:
        """The try `callback.attempts` was claimed but not made: due again from `due_ms`,
        with the attempts it had before the claim."""

    async def settle_callback(
        self,
        callback: Callback,
        state: CallbackState,
        status: int | None,
        error: str | None,
        now_ms: int,
    ) -> None:
        """Delivered, or failed for good: nothing more is owed."""


class Ledger(Queue, Protocol):
    """A queue that also leases calls by id, for a transport (JetStream) that decides which
    calls run next while the ledger keeps the records, the fencing and the callbacks."""

    async def claim_ids(self, ids: Sequence[CallId], now_ms: int, lease_ms: int) -> Claim:
        """Lease each named call that is queued and visible, bumping its attempts."""

    async def queued(self, now_ms: int, limit: int) -> list[Candidate]:
        """The `limit` oldest calls queued and visible at `now_ms`, and the oldest of each
        named queue, oldest first, leasing none (what a sweep for lost messages looks at)."""
