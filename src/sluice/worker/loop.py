"""The worker: takes leased calls from the queue within its capacity, runs each through the
runtime, keeps its lease alive while it runs, and writes the outcome fenced on the lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sluice.config import Settings
from sluice.engine.execution import CANCELLED, Execution
from sluice.engine.policy import Policy, Retry
from sluice.engine.sequences import Sequences
from sluice.errors import Unavailable
from sluice.ids import CallId
from sluice.notify.waiters import Waiters
from sluice.observe import logs, metrics, spans
from sluice.queue.base import Queue
from sluice.records import CallState, Lease
from sluice.runtime.base import Runtime
from sluice.store.base import Candidate, Outcome, candidate_of, failure
from sluice.timing import now_ms
from sluice.worker.capacity import Capacity, parse_queues
from sluice.worker.reaper import reap

log = logging.getLogger("sluice.worker")

#: how often the worker looks at the queue when nobody woke it (delayed retries, other hosts)
_POLL_SECONDS = 0.5
_TAKE_BATCH = 32
#: expired leases handed back per look
_REAP_PAGE = 100
#: a call handed back because the store was down is run again after this
_STORE_DOWN_RETRY_MS = 1000

#: one run of a call: its id and the attempt its lease is for
RunKey = tuple[bytes, int]


def run_key(lease: Lease) -> RunKey:
    return (lease.id.raw, lease.attempt)


#: how long a stop after the server died waits for cancelled runs to unwind
_ABANDONED_UNWIND_S = 2.0


class Worker:
    def __init__(
        self,
        queue: Queue,
        runtime: Runtime,
        execution: Execution,
        waiters: Waiters,
        settings: Settings,
        policy: Policy | None = None,
        long_poll: bool = False,
        sequences: Sequences | None = None,
    ) -> None:
        self.queue = queue
        #: the conductor of sequence calls (None: sequences are not run here)
        self.sequences = sequences
        #: the queue's take waits for work itself (JetStream): no idle wait between takes,
        #: and no call skips the queue (the transport decides which worker runs it)
        self.long_poll = long_poll
        self.policy = policy or Policy(settings)
        self.runtime = runtime
        self.execution = execution
        self.waiters = waiters
        self.settings = settings
        self.capacity = Capacity(
            settings.worker_memory_mb,
            settings.namespace_concurrency,
            settings.max_running,
            parse_queues(settings.queues),
            settings.queue_concurrency,
        )
        self.lease_ms = int(settings.lease_seconds * 1000)
        # a lease is only noticed as expired a whole lease late anyway: looking every tenth
        # of one (at most every second) instead of at every wake-up saves a query per call
        self._reap_every_ms = min(1000, self.lease_ms // 10)
        self._next_reap_ms = 0
        self._wake = asyncio.Event()
        #: the runs of this worker, by call and attempt: a call handed back (its lease ran
        #: out) and taken again is another run, whose end a late first run must not touch
        self._running: dict[RunKey, tuple[Lease, asyncio.Task[None]]] = {}
        #: running calls being cancelled at a caller's request
        self._cancelled: set[RunKey] = set()
        #: calls whose run has begun (a task cancelled before its first step runs none of
        #: its code, so a cancel that comes first is left for the run to find)
        self._begun: set[RunKey] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        #: set when the server died: a stop ends its grace at once and counts what still
        #: runs as interrupted, as the next start would had this process died with it
        self._abandoned = asyncio.Event()
        #: the last look at the queue found nothing runnable left behind
        self._queue_drained = False

    @property
    def alive(self) -> bool:
        """Started, not stopping, and its loops still going."""
        return bool(self._tasks) and not self._stopping and not any(t.done() for t in self._tasks)

    def wake(self) -> None:
        self._queue_drained = False
        self._wake.set()

    # Dispatcher: calls accepted straight into a lease when there is room and no backlog
    def reserve(self, candidate: Candidate) -> int | None:
        if self.long_poll or self._stopping or not self._queue_drained:
            return None
        if not self.capacity.admit(candidate):
            return None
        return now_ms() + self.lease_ms

    def release(self, candidate: Candidate) -> None:
        self.capacity.release(candidate)

    def run_leased(self, lease: Lease) -> None:
        task = asyncio.create_task(self._run(lease), name=f"call-{lease.id.hex}")
        self._running[run_key(lease)] = (lease, task)

    async def start(self) -> None:
        orphans = await self.queue.recover()
        for lease in await reap(self.queue, orphans, self.settings.max_attempts, "server stopped"):
            self.waiters.done(lease.id)
        self._tasks = [
            asyncio.create_task(self._take_loop(), name="worker-take"),
            asyncio.create_task(self._heartbeat_loop(), name="worker-heartbeat"),
        ]

    async def _take_loop(self) -> None:
        while not self._stopping:
            if not self.long_poll or self.capacity.full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), _POLL_SECONDS)
            self._wake.clear()
            try:
                await self._take_all()
                await self._reap_expired()
            except Exception:
                log.exception("worker loop failed; retrying")
                await asyncio.sleep(_POLL_SECONDS)  # the queue is down: do not spin

    async def _take_all(self) -> None:
        while not self._stopping and not self.capacity.full:
            if await self._take_batch() < _TAKE_BATCH:
                return

    async def _take_batch(self) -> int:
        admitted: list[Candidate] = []
        refused = 0

        def admit(candidate: Candidate) -> bool:
            nonlocal refused
            if self.capacity.admit(candidate):
                admitted.append(candidate)
                return True
            refused += 1
            return False

        self._queue_drained = False

        leases: list[Lease] = []
        try:
            leases = await self.queue.take(now_ms(), self.lease_ms, self._batch(), admit)
        finally:  # reserved, but taken by someone else meanwhile (or the take failed)
            leased = {lease.id for lease in leases}
            for candidate in admitted:
                if candidate.id not in leased:
                    self.capacity.release(candidate)
        for lease in leases:
            self.run_leased(lease)
        # everything visible was taken: new calls may skip the queue until the next wake
        self._queue_drained = refused == 0 and len(leases) < _TAKE_BATCH
        return len(leases)

    def _batch(self) -> int:
        """How many calls to ask for. A transport that hands out messages (JetStream) gets
        asked only for about what fits, since each one refused goes back and counts as a
        delivery; the embedded queue only offers candidates, so it is asked for a full batch."""
        if not self.long_poll:
            return _TAKE_BATCH
        free_mb = self.capacity.memory_mb - self.capacity.used_mb
        return max(1, min(_TAKE_BATCH, free_mb // self.settings.memory_min_mb))

    async def _reap_expired(self) -> None:
        now = now_ms()
        if now < self._next_reap_ms:
            return
        self._next_reap_ms = now + self._reap_every_ms
        expired = await self.queue.expired(now, _REAP_PAGE)
        if len(expired) == _REAP_PAGE:
            self._next_reap_ms = 0  # more are due: the next wake-up takes them
        mine = [lease for lease in expired if run_key(lease) not in self._running]
        for lease in await reap(self.queue, mine, self.settings.max_attempts, "lease expired"):
            self.waiters.done(lease.id)

    async def _heartbeat_loop(self) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            leases = [lease for lease, _ in self._running.values()]
            with contextlib.suppress(Exception):
                await self.queue.extend(leases, now_ms() + self.lease_ms)

    def cancel(self, call_id: CallId) -> bool:
        runs = [(key, task) for key, (_, task) in self._running.items() if key[0] == call_id.raw]
        for key, task in runs:
            self._cancelled.add(key)
            if key in self._begun:
                task.cancel()
        return bool(runs)

    async def _run(self, lease: Lease) -> None:
        key = run_key(lease)
        self._begun.add(key)
        retried = False
        try:
            if key in self._cancelled:  # asked before the run began
                raise asyncio.CancelledError
            outcome = await self._execute(lease)
            if isinstance(outcome, Retry):
                retried = await self.queue.nak(lease, outcome.at_ms)
            elif not await self.queue.ack(lease, outcome):
                log.warning(
                    "call %s: lease lost, outcome dropped", lease.id.hex, extra=_about(lease)
                )
            else:
                _finished(lease, outcome)
        except Unavailable:
            # the store is down, which is no fault of the call: it runs again later (if the
            # hand-back fails too, its lease runs out and the reaper hands it back)
            log.warning(
                "call %s: the store is unavailable; handing it back",
                lease.id.hex,
                extra=_about(lease),
            )
            retried = True
            with contextlib.suppress(Exception):
                await self.queue.nak(lease, now_ms() + _STORE_DOWN_RETRY_MS)
        except asyncio.CancelledError:
            if key not in self._cancelled:
                raise
            with contextlib.suppress(Exception):  # a cancel asked for: the call ends here
                if self.sequences is not None and self.sequences.conducts(lease):
                    await self.sequences.cancel_steps(lease)
                await self.queue.ack(lease, failure(lease, CallState.CANCELLED, CANCELLED))
            _finished(lease, failure(lease, CallState.CANCELLED, CANCELLED))
        except Exception:
            log.exception("call %s failed inside the platform", lease.id.hex, extra=_about(lease))
            broken = failure(lease, CallState.PLATFORM_ERROR, "Internal error running call.")
            with contextlib.suppress(Exception):
                await self.queue.ack(lease, broken)
            _finished(lease, broken)
        finally:
            self._cancelled.discard(key)
            self._begun.discard(key)
            self._running.pop(key, None)
            self.capacity.release(candidate_of(lease))
            if not retried:  # a call to run again has not ended: its waiters wait on
                self.waiters.done(lease.id)
            self._freed(retried)

    def _freed(self, requeued: bool) -> None:
        """A call gave back its capacity: calls left in the queue for want of it may run now.
        When the last look took everything visible, nothing waits for it (a newly queued call
        wakes the worker itself, a delayed one comes up on the poll), so the queue is not
        read again after every call. A long-polling queue (JetStream) is never known drained:
        its takes wait for the next delivery, and a worker that was full waits for this."""
        if requeued or self.long_poll or not self._queue_drained:
            self.wake()

    async def _execute(self, lease: Lease) -> Outcome | Retry:
        if self.sequences is not None and self.sequences.conducts(lease):
            return await self._conduct(self.sequences, lease)
        prepared = await self.execution.prepare(lease)
        if isinstance(prepared, Outcome):
            return prepared
        function, request = prepared
        too_old = self.policy.before(lease, function, now_ms())
        if too_old is not None:
            return too_old
        dialect = lease.meta.dialect
        metrics.call_started(
            lease.namespace, lease.path, dialect, (lease.started - lease.created) / 1000
        )
        result = await self.runtime.run(request)
        init_ms = result.init_ms
        run_ms = result.end_ms - result.start_ms - (init_ms or 0)
        metrics.call_ran(
            lease.namespace, lease.path, None if init_ms is None else init_ms / 1000, run_ms / 1000
        )
        return self.policy.after(lease, function, self.execution.finish(lease, function, result))

    async def _conduct(self, sequences: Sequences, lease: Lease) -> Outcome | Retry:
        """A sequence's call: its steps run as calls of their own, each with its policy;
        the sequence's own policy decides about the sequence."""
        function = await sequences.function(lease)
        if isinstance(function, Outcome):
            return function
        too_old = self.policy.before(lease, function, now_ms())
        if too_old is not None:
            return too_old
        return self.policy.after(lease, function, await sequences.run(lease, function))

    def abandon(self) -> None:
        """The server died: a stop (under way or next) gives no more grace, and the calls
        it interrupts count an attempt each (out of attempts, they end)."""
        self._abandoned.set()

    async def stop(self, grace_seconds: float) -> None:
        """Take nothing new; let running calls finish within the grace period (or until
        `abandon`), then hand the rest back to the queue for the next start."""
        self._stopping = True
        self.wake()
        tasks = [task for _, task in self._running.values()]
        if tasks and not self._abandoned.is_set():
            ended = asyncio.ensure_future(asyncio.wait(tasks))
            abandoned = asyncio.ensure_future(self._abandoned.wait())
            first = asyncio.FIRST_COMPLETED
            await asyncio.wait([ended, abandoned], timeout=grace_seconds, return_when=first)
            ended.cancel()  # the waiting, not the calls
            abandoned.cancel()
        left = list(self._running.values())
        for _, task in left:
            task.cancel()
        for lease, _ in left:
            with contextlib.suppress(Exception):  # one failed hand-back must not stop the rest
                if self._abandoned.is_set():
                    await reap(self.queue, [lease], self.settings.max_attempts, "server died")
                else:
                    await self.queue.nak(lease, now_ms())
        for task in self._tasks:
            task.cancel()
        ending = [*self._tasks, *(t for _, t in left)]
        if self._abandoned.is_set() and ending:
            # the next server waits for this process to be gone: a run slow to unwind its
            # cancel (its calls are handed back already) must not hold that up
            await asyncio.wait(ending, timeout=_ABANDONED_UNWIND_S)
        else:
            await asyncio.gather(*ending, return_exceptions=True)


def _finished(lease: Lease, outcome: Outcome) -> None:
    dialect = lease.meta.dialect
    dead = outcome.dead_letter is not None
    metrics.call_finished(lease.namespace, lease.path, dialect, outcome.state.value, dead)
    spans.ended(lease, outcome.state, outcome.started, outcome.ended)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("call %s ended: %s", lease.id.hex, outcome.state.value, extra=_about(lease))


def _about(lease: Lease) -> dict[str, Any]:
    return logs.about(lease.id.hex, lease.namespace, lease.path, lease.trace)
