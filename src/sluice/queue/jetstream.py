"""Calls delivered through NATS JetStream, their records kept in a ledger.

One work-queue stream per deployment holds a message per queued call on the subject
`<prefix>.calls.<queue>.<call id>` (`_` is the shared queue, a named queue is its name), at
most one per subject, so publishing a call again never makes two. Workers share a durable
pull consumer with explicit acks; the ack wait is the lease, kept alive by `in_progress`
heartbeats while a call runs, however long its timeout.

JetStream decides which call runs next; the ledger (the SQLite queue, or PostgreSQL's)
leases exactly the delivered ids, fenced on the attempt. So a message delivered again after
its call ended is acked and dropped, and a worker that lost its lease cannot overwrite the
outcome: at-least-once delivery, exactly one outcome.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from sluice.ids import CallId
from sluice.queue.base import Ledger
from sluice.records import Callback, CallbackState, CallState, Lease, NewCall
from sluice.store.base import Candidate, Claim, Outcome, candidate_of, failure
from sluice.timing import now_ms

log = logging.getLogger("sluice.jetstream")

_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
#: how many queued calls one sweep looks at
_SWEEP_BATCH = 256
#: a worker with no room hands a message back for this long, times its deliveries, up to max
_REFUSED_DELAY_S = 0.1
_REFUSED_DELAY_MAX_S = 5.0
#: how long an accept waits for JetStream's ack (when NATS is down the call is durable in the
#: ledger already, and the sweeper publishes it later)
_PUBLISH_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class Names:
    """Where a deployment's calls live in NATS."""

    stream: str = "SLUICE"
    prefix: str = "sluice"

    @property
    def calls(self) -> str:
        return f"{self.prefix}.calls.>"

    def subject(self, queue_name: str, call_id: CallId) -> str:
        return f"{self.prefix}.calls.{queue_token(queue_name)}.{call_id.hex}"


def queue_token(queue_name: str) -> str:
    """A named queue as one subject token: its name when NATS allows it, else hex."""
    if not queue_name:
        return "_"
    if _SAFE_TOKEN.match(queue_name) and queue_name != "_":
        return queue_name
    return "x-" + queue_name.encode().hex()


def message_body(candidate: Candidate) -> bytes:
    """What admission control needs, so a worker decides before it touches the ledger."""
    return orjson.dumps(
        {
            "namespace": candidate.namespace,
            "memory_mb": candidate.memory_mb,
            "path": candidate.path,
            "queue_name": candidate.queue_name,
            "fn_limit": candidate.fn_limit,
            "concurrency": candidate.concurrency,
        }
    )


def _candidate(msg: Msg) -> Candidate | None:
    try:
        call_id = CallId(bytes.fromhex(msg.subject.rpartition(".")[2]))
        body = orjson.loads(msg.data)
        return Candidate(
            call_id,
            str(body["namespace"]),
            int(body["memory_mb"]),
            str(body["path"]),
            str(body["queue_name"]),
            int(body["fn_limit"]),
            int(body.get("concurrency", 1)),
        )
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


class JetStream:
    """The stream, its consumer, and the verbs on messages."""

    def __init__(self, nc: Client, names: Names, ack_wait_s: float, max_deliver: int) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.names = names
        self.ack_wait_s = ack_wait_s
        self.max_deliver = max_deliver
        self._sub: JetStreamContext.PullSubscription | None = None

    async def ensure_stream(self) -> None:
        config = api.StreamConfig(
            name=self.names.stream,
            subjects=[self.names.calls],
            retention=api.RetentionPolicy.WORK_QUEUE,
            storage=api.StorageType.FILE,
            max_msgs_per_subject=1,
            duplicate_window=120.0,
        )
        try:
            await self.js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await self.js.update_stream(config)

    async def publish(self, candidate: Candidate, msg_id: str) -> None:
        """`msg_id` lets JetStream drop a publish repeated within its window."""
        if not self.nc.is_connected:  # fail now rather than wait out the ack's timeout
            raise ConnectionError("not connected to NATS")
        await self.js.publish(
            self.names.subject(candidate.queue_name, candidate.id),
            message_body(candidate),
            stream=self.names.stream,
            headers={"Nats-Msg-Id": msg_id},
            timeout=_PUBLISH_WAIT_S,
        )

    async def has_message(self, candidate: Candidate) -> bool:
        subject = self.names.subject(candidate.queue_name, candidate.id)
        try:
            await self.js.get_last_msg(self.names.stream, subject)
        except NotFoundError:
            return False
        return True

    async def fetch(self, batch: int, wait_s: float) -> list[Msg]:
        """Up to `batch` messages, waiting up to `wait_s` for the first."""
        if self._sub is None:
            self._sub = await self.js.pull_subscribe(
                self.names.calls,
                durable="workers",
                stream=self.names.stream,
                config=api.ConsumerConfig(
                    ack_policy=api.AckPolicy.EXPLICIT,
                    ack_wait=self.ack_wait_s,
                    max_deliver=self.max_deliver,
                    max_ack_pending=-1,
                ),
            )
        try:
            return await self._sub.fetch(batch, wait_s)
        except (NatsTimeout, TimeoutError):
            return []

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.nc.close()


def _refused_delay(deliveries: int) -> float:
    return min(_REFUSED_DELAY_S * deliveries, _REFUSED_DELAY_MAX_S)


class JetStreamQueue:
    """The Queue protocol over a ledger (records, fencing, callbacks) and JetStream (order)."""

    def __init__(
        self,
        ledger: Ledger,
        stream: JetStream,
        poll_seconds: float = 1.0,
        recover_own: bool = False,
    ) -> None:
        self.ledger = ledger
        self.stream = stream
        #: the ledger's `recover` returns only this node's leases (PostgreSQL records their
        #: holder); else other processes share them, and a dead one's simply expire
        self.recover_own = recover_own
        #: how long one take waits for a message (a long poll: no delay once one arrives)
        self.poll_seconds = poll_seconds
        #: the messages of the calls this process holds leases on
        self._held: dict[bytes, Msg] = {}
        #: accepted calls whose publish failed (NATS down): published again on reconnect
        self._unpublished: dict[bytes, tuple[Candidate, str]] = {}

    async def enqueue(self, *calls: NewCall, durable: bool = True) -> None:
        await self.ledger.enqueue(*calls, durable=durable)
        for call in calls:
            if call.state is CallState.QUEUED:
                await self._publish(candidate_of(call), call.id.hex)

    async def make_durable(self, call_id: CallId) -> None:
        await self.ledger.make_durable(call_id)

    async def _publish(self, candidate: Candidate, msg_id: str) -> None:
        """The call is durable in the ledger already: a failed publish is retried when NATS
        is back (and by the sweeper, should this process die first)."""
        try:
            await self.stream.publish(candidate, msg_id)
        except Exception:
            log.warning("call %s: not published yet (NATS unreachable)", candidate.id.hex)
            self._unpublished[candidate.id.raw] = (candidate, msg_id)

    async def republish(self) -> None:
        """After a reconnect: publish what could not be published meanwhile."""
        waiting, self._unpublished = self._unpublished, {}
        for candidate, msg_id in waiting.values():
            await self._publish(candidate, msg_id)

    async def take(
        self, now_ms_: int, lease_ms: int, limit: int, admit: Callable[[Candidate], bool]
    ) -> list[Lease]:
        msgs = await self.stream.fetch(limit, self.poll_seconds)
        admitted: dict[CallId, Msg] = {}
        overdue: dict[CallId, Msg] = {}
        for msg in msgs:
            candidate = _candidate(msg)
            if candidate is None:
                log.warning("dropping a malformed message on %s", msg.subject)
                await msg.term()
            elif msg.metadata.num_delivered >= self.stream.max_deliver:
                overdue[candidate.id] = msg
            elif admit(candidate):
                admitted[candidate.id] = msg
            else:
                await msg.nak(delay=_refused_delay(msg.metadata.num_delivered))
        leases = await self._lease(admitted, lease_ms)
        if overdue:
            await self._end_overdue(overdue)
        return leases

    async def _lease(self, msgs: dict[CallId, Msg], lease_ms: int) -> list[Lease]:
        if not msgs:
            return []
        now = now_ms()
        claim = await self.ledger.claim_ids(list(msgs), now, lease_ms)
        for lease in claim.leases:
            self._held[lease.id.raw] = msgs[lease.id]
        await self._settle(claim, msgs, now)
        return claim.leases

    async def _settle(self, claim: Claim, msgs: dict[CallId, Msg], now: int) -> None:
        """Messages of calls that were not leased: done with, or to look at again later."""
        for call_id in claim.finished:
            await msgs[call_id].ack()
        for call_id, at in claim.later.items():
            await msgs[call_id].nak(delay=max(at - now, 100) / 1000)

    async def _end_overdue(self, msgs: dict[CallId, Msg]) -> None:
        """Delivered too many times: the call ends as a platform error, once, in the ledger."""
        claim = await self.ledger.claim_ids(list(msgs), now_ms(), 60_000)
        for lease in claim.leases:
            deliveries = msgs[lease.id].metadata.num_delivered
            message = f"The call was delivered {deliveries} times and was not run again."
            await self.ledger.ack(lease, failure(lease, CallState.PLATFORM_ERROR, message))
            await msgs[lease.id].ack()
        for call_id in [*claim.finished, *claim.later]:
            # running elsewhere: its holder ends it; a requeue publishes it afresh
            await msgs[call_id].ack()

    async def extend(self, leases: list[Lease], until_ms: int) -> None:
        await self.ledger.extend(leases, until_ms)
        for lease in leases:
            msg = self._held.get(lease.id.raw)
            if msg is not None:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def ack(self, lease: Lease, outcome: Outcome) -> bool:
        # let go of the message first: should the ledger fail, it comes back after its ack
        # wait and finds the call as the ledger has it
        msg = self._held.pop(lease.id.raw, None)
        finished = await self.ledger.ack(lease, outcome)
        if finished and msg is not None:
            with contextlib.suppress(Exception):
                await msg.ack()
        return finished

    async def nak(self, lease: Lease, visible_at: int) -> bool:
        msg = self._held.pop(lease.id.raw, None)
        requeued = await self.ledger.nak(lease, visible_at)
        if not requeued:
            return False
        delay = max(visible_at - now_ms(), 0) / 1000
        if msg is None:  # a reaped lease of another worker: deliver it now, not after its ack wait
            await self._publish(candidate_of(lease), f"{lease.id.hex}.{lease.attempt}")
            return True
        with contextlib.suppress(Exception):  # else it comes back after its ack wait
            await msg.nak(delay=delay or None)
        return True

    async def cancel_queued(
        self,
        namespace: str,
        outcome: Outcome,
        call_id: CallId | None = None,
        path: str | None = None,
    ) -> list[CallId]:
        # their messages are acked and dropped when next delivered
        return await self.ledger.cancel_queued(namespace, outcome, call_id, path)

    async def expired(self, now_ms: int, limit: int) -> list[Lease]:
        return await self.ledger.expired(now_ms, limit)

    async def recover(self) -> list[Lease]:
        return await self.ledger.recover() if self.recover_own else []

    async def sweep(self, now: int, older_ms: int) -> int:
        """Publish queued calls visible for `older_ms` whose message is not in the stream
        (a publish lost to a crash or a NATS outage). Returns how many it published."""
        published = 0
        for candidate in await self.ledger.queued(now - older_ms, _SWEEP_BATCH):
            if not await self.stream.has_message(candidate):
                await self.stream.publish(candidate, f"{candidate.id.hex}.sweep.{now}")
                published += 1
        return published

    async def callbacks_due(self, now_ms: int, lease_ms: int, limit: int) -> list[Callback]:
        return await self.ledger.callbacks_due(now_ms, lease_ms, limit)

    async def retry_callback(
        self, callback: Callback, due_ms: int, status: int | None, error: str | None
    ) -> None:
        await self.ledger.retry_callback(callback, due_ms, status, error)

    async def put_back_callback(self, callback: Callback, due_ms: int) -> None:
        await self.ledger.put_back_callback(callback, due_ms)

    async def settle_callback(
        self,
        callback: Callback,
        state: CallbackState,
        status: int | None,
        error: str | None,
        now_ms: int,
    ) -> None:
        await self.ledger.settle_callback(callback, state, status, error, now_ms)
