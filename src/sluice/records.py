"""The records every layer passes around: namespaces, entities and calls. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.observe.trace import Trace


class CallState(StrEnum):
    #: accepted and durably stored, waiting for a worker
    QUEUED = "queued"
    #: leased by a worker and running
    RUNNING = "running"
    #: finished: the function returned a result
    SUCCESS = "success"
    #: finished: the function reported its own error
    APPLICATION_ERROR = "application_error"
    #: finished: bad code, crash, bad result, limit exceeded
    DEVELOPER_ERROR = "developer_error"
    #: finished: the platform could not run it (e.g. out of attempts after crashes)
    PLATFORM_ERROR = "platform_error"
    #: finished: the function ran out of time and was stopped
    TIMEOUT = "timeout"
    #: finished: cancelled before it ended
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self not in (CallState.QUEUED, CallState.RUNNING)


#: the states a call ends in, as their wire strings
TERMINAL_STATES = frozenset(state.value for state in CallState if state.terminal)


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    uuid: str
    key_hash: str
    generation: int
    created: int


@dataclass(frozen=True, slots=True)
class Entity:
    """An action, trigger, rule or package: its fields live in `doc`."""

    namespace: str
    collection: str
    #: "name", or "package/name" for an entity inside a package
    name: str
    version: str
    updated: int
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewCall:
    """What accepting a call writes: everything a worker needs to run it later."""

    id: CallId
    namespace: str
    #: the action's path inside the namespace: "name" or "package/name"
    path: str
    params: dict[str, Any]
    #: subject, transaction id, cause: facts about the caller kept for the record
    meta: CallMeta
    memory_mb: int
    created: int
    visible_at: int
    #: a call recorded already finished (a trigger's own activation) carries its end here
    state: CallState = CallState.QUEUED
    record: dict[str, Any] | None = None
    ended: int | None = None
    #: a call accepted straight into a worker's lease (state RUNNING) carries it here
    lease_until: int | None = None
    #: a URL that gets the call's answer once it ends: a durable job stored with the call
    callback: str | None = None
    #: the caller's key for this submit: a second submit with it gets this call instead
    idempotency_key: str | None = None
    #: parameters too large for the queue, stored aside with the call (engine/claims.py)
    blob: bytes | None = None
    #: the function's named queue ("" = the shared one) and its own cap on running calls
    queue_name: str = ""
    fn_limit: int = 0
    #: calls of the function one process runs at once (worker/capacity.py)
    concurrency: int = 1
    #: the call's span in its trace (observe/trace.py)
    trace: Trace | None = None

    @property
    def attempts(self) -> int:
        return 1 if self.state is CallState.RUNNING else 0

    def lease(self) -> Lease:
        """The lease of a call accepted straight into a worker."""
        return Lease(
            self.id,
            self.namespace,
            self.path,
            1,
            self.params,
            self.meta,
            self.memory_mb,
            self.created,
            self.created,
            self.queue_name,
            self.fn_limit,
            self.concurrency,
            self.trace,
            callback=self.callback is not None,
        )


@dataclass(frozen=True, slots=True)
class Call:
    id: CallId
    namespace: str
    path: str
    state: CallState
    params: dict[str, Any]
    meta: CallMeta
    memory_mb: int
    created: int
    started: int | None
    ended: int | None
    attempts: int
    #: the finished activation's details (response, logs, timings); None until terminal
    record: dict[str, Any] | None = field(default=None)
    #: the call's span in its trace; None for a call stored before traces were kept
    trace: Trace | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's claim on a running call. `attempt` fences: only its holder may finish it."""

    id: CallId
    namespace: str
    path: str
    attempt: int
    params: dict[str, Any]
    meta: CallMeta
    memory_mb: int
    created: int
    started: int
    #: the call's named queue and its function's cap on running calls (0: none)
    queue_name: str = ""
    fn_limit: int = 0
    #: calls of the function one process runs at once
    concurrency: int = 1
    #: the call's span in its trace
    trace: Trace | None = None
    #: the call has a callback, which its ack makes due (True where it was not looked up)
    callback: bool = True


class CallbackState(StrEnum):
    #: owed: waiting for the call to end, or for its next delivery attempt
    PENDING = "pending"
    #: the receiver answered 2xx
    DELIVERED = "delivered"
    #: out of attempts, or refused with a status no retry can change
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Callback:
    """A call's callback: the answer POSTed to `url` once the call ends, with retries."""

    id: CallId
    namespace: str
    url: str
    state: CallbackState
    #: deliveries tried so far
    attempts: int
    #: epoch ms of the next try; None while the call runs, and once settled
    due: int | None
    #: the receiver's last HTTP status, if it answered
    last_status: int | None = None
    #: why the last try failed, if it did
    last_error: str | None = None
    #: epoch ms when it was delivered or given up
    settled: int | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An async call that failed for good (or grew too old), kept to be redriven."""

    id: CallId
    namespace: str
    path: str
    reason: str
    #: epoch ms when it became a dead letter
    created: int
