"""The store seam: namespaces, entities (actions, triggers, rules, packages) and call records.

Implementations only store and translate; every rule about what may be stored is the engine's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import (
    Call,
    Callback,
    CallState,
    DeadLetter,
    Entity,
    Lease,
    Namespace,
    NewCall,
)
from sluice.timing import now_ms

# What the call ledger (store/sqlite/ledger.py, store/postgres/ledger.py) takes and gives back:
# the queue's protocols (queue/base.py) speak these too.


@dataclass(frozen=True, slots=True)
class Candidate:
    """A queued call a worker may take, with what admission control needs to decide."""

    id: CallId
    namespace: str
    memory_mb: int
    #: the function, its named queue ("" = shared) and its cap on running calls (0: none)
    path: str = ""
    queue_name: str = ""
    fn_limit: int = 0
    #: calls of the function one process runs at once: its memory counts once for them
    concurrency: int = 1


def candidate_of(call: Lease | NewCall) -> Candidate:
    """What a call asks of (or, leased, took from) a worker's capacity."""
    return Candidate(
        call.id,
        call.namespace,
        call.memory_mb,
        call.path,
        call.queue_name,
        call.fn_limit,
        call.concurrency,
    )


#: how long an idempotency key names its first call
IDEMPOTENCY_MS = 24 * 3600 * 1000


class DuplicateCall(Conflict):
    """A call was submitted with this idempotency key already."""

    def __init__(self, existing: CallId) -> None:
        super().__init__(f"The idempotency key was used for call {existing.uuid}.")
        self.existing = existing


@dataclass(frozen=True, slots=True)
class Outcome:
    """A terminal state and the finished record that goes with it."""

    state: CallState
    record: dict[str, Any]
    ended: int
    #: when the code began to run (after any queueing), if it did
    started: int | None = None
    #: why the call is kept as a dead letter (an async call that failed for good), if it is
    dead_letter: str | None = None


def failure(lease: Lease, state: CallState, message: str, **extra: Any) -> Outcome:
    """A terminal outcome for a call that did not get to run its code."""
    now = now_ms()
    record: dict[str, Any] = {
        "result": {"error": message},
        "logs": [],
        "start": lease.started,
        "end": now,
        "waitTime": max(lease.started - lease.created, 0),
        "attempts": lease.attempt,
        **extra,
    }
    return Outcome(state, record, now)


@dataclass(frozen=True, slots=True)
class Claim:
    """What leasing named calls found: the leased ones, and why the others were not."""

    leases: list[Lease] = field(default_factory=list)
    #: ended, or unknown: nothing more to deliver
    finished: list[CallId] = field(default_factory=list)
    #: not runnable yet (delayed, or leased by another worker): epoch ms to look again
    later: dict[CallId, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallFilter:
    namespace: str
    path: str | None = None
    #: epoch ms bounds on the call's start (or creation, before it started)
    since: int | None = None
    upto: int | None = None
    terminal_only: bool = True
    skip: int = 0
    limit: int = 30
    #: only calls whose path starts with this (a package's calls: "pkg/")
    prefix: str | None = None
    #: only calls older than this one (a cursor: the last id of the previous page)
    before: CallId | None = None
    #: only calls not ended yet (queued or running)
    live_only: bool = False
    #: only calls in this state (`queued`, `running`, `success`, ...)
    state: str | None = None


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """One named queue's waiting calls ("" is the default queue)."""

    queue: str
    queued: int
    #: epoch ms the longest waiting of them became due (a delayed call: its due time)
    oldest_due: int


#: the waiting calls of each queue, oldest due first (a covering read of the queued index)
QUEUE_DEPTHS_SQL = (
    "SELECT queue_name, count(*), min(visible_at) FROM calls WHERE state = 'queued'"
    " GROUP BY queue_name"
)


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # Namespaces
    async def create_namespace(self, namespace: Namespace) -> None:
        """Raises Conflict if the name exists."""

    async def get_namespace(self, name: str) -> Namespace | None: ...

    async def namespace_by_uuid(self, uuid: str) -> Namespace | None: ...

    async def list_namespaces(self) -> list[Namespace]: ...

    async def set_namespace_key(self, name: str, key_hash: str, generation: int) -> None: ...

    async def delete_namespace(self, name: str) -> bool:
        """Deletes the namespace with all its entities and calls."""

    # Entities
    async def get_entity(self, namespace: str, collection: str, name: str) -> Entity | None: ...

    async def put_entity(self, entity: Entity, replaces: str | None) -> None:
        """Store `entity`. `replaces` is the version it must replace, or None to create:
        raises Conflict when the stored state differs (exists on create, changed on update)."""

    async def delete_entity(self, namespace: str, collection: str, name: str) -> Entity | None: ...

    async def list_entities(
        self, namespace: str, collection: str, skip: int, limit: int, prefix: str | None = None
    ) -> list[Entity]: ...

    async def count_entities(
        self, namespace: str, collection: str, prefix: str | None = None
    ) -> int: ...

    # Calls (written through the queue; read here)
    async def get_call(self, call_id: CallId) -> Call | None: ...

    async def get_callback(self, call_id: CallId) -> Callback | None:
        """The callback the call owes or owed, if it was given one."""

    async def get_blob(self, call_id: CallId) -> bytes | None:
        """A call's parameters stored aside (a claim check), if there are any."""

    async def dead_letters(
        self, namespace: str, path: str | None, limit: int, call_id: CallId | None = None
    ) -> list[DeadLetter]:
        """The namespace's dead letters, newest first (of one function, or the one call)."""

    async def remove_dead_letter(self, namespace: str, call_id: CallId) -> bool:
        """Forget a dead letter (redriven or dismissed); False if there was none."""

    async def list_calls(self, query: CallFilter) -> list[Call]: ...

    async def count_calls(self, query: CallFilter) -> int: ...

    async def prune_calls(self, ended_before: int, limit: int) -> int:
        """Forget up to `limit` calls that ended before `ended_before` (epoch ms), with their
        callbacks, stored bodies, dead letters and idempotency keys; how many."""

    async def queue_depths(self) -> list[QueueDepth]:
        """The calls waiting in each queue that has any (for the metrics, at a scrape)."""
