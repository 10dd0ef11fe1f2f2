"""Accepting calls and reading their state: the one place a call enters the system."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from sluice.call_meta import CallMeta
from sluice.config import Settings
from sluice.engine import claims
from sluice.engine.alarms import BUILTIN_KIND, Alarms, is_feed
from sluice.engine.dispatch import Dispatcher
from sluice.engine.names import parse_reference
from sluice.engine.new_call import When, new_call
from sluice.engine.packages import Packages
from sluice.engine.resolve import Target, resolve_action
from sluice.envelope import Body
from sluice.errors import NotFound, SluiceError, Unavailable
from sluice.ids import CallId
from sluice.notify.waiters import Waiters
from sluice.observe import logs, metrics, spans
from sluice.observe.trace import Trace
from sluice.queue.base import Queue
from sluice.records import Call, CallState, NewCall
from sluice.store.base import CallFilter, Candidate, DuplicateCall, Store, candidate_of
from sluice.timing import now_ms

log = logging.getLogger("sluice.calls")


@dataclass(frozen=True, slots=True)
class Accepted:
    id: CallId
    #: the finished call when the caller waited and it ended in time; None otherwise
    call: Call | None
    #: the idempotency key named an earlier call: `id` is that call's, nothing new ran
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class CallOptions:
    """What a caller may ask of a call beyond running it."""

    #: the caller's choice of id (Conflict when it is taken)
    call_id: CallId | None = None
    #: a URL that gets the call's answer once it ends (see notify/callbacks.py)
    callback: str | None = None
    #: run no earlier than this (epoch ms): a delayed call waits in the queue till then
    run_at: int | None = None
    #: a second submit with the same key (within a day) gets the first call back
    idempotency_key: str | None = None
    #: parameters past the queue's limit may be stored aside (engine/claims.py)
    claim_check: bool = False
    #: the request body the parameters carry in `__ow_body`, not in them yet: stored aside
    #: as its bytes when it is past the queue's limit
    body: Body | None = None
    #: the caller's span (its valid `traceparent`, or the sequence the call is a step of):
    #: the call joins its trace; None starts a new one
    trace: Trace | None = None


class Calls:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        packages: Packages,
        waiters: Waiters,
        settings: Settings,
        dispatcher: Dispatcher,
        feeds: Alarms | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.packages = packages
        self.waiters = waiters
        self.settings = settings
        self.dispatcher = dispatcher
        self.accepting = True
        #: the built-in feed actions (None: feeds cannot be created or deleted)
        self.feeds = feeds

    async def invoke(
        self,
        caller: str,
        namespace: str,
        path: str,
        params: dict[str, Any],
        params_size: int,
        meta: CallMeta,
        wait_ms: int | None,
        options: CallOptions | None = None,
    ) -> Accepted:
        """Store the call durably, then (if `wait_ms`) wait for it to end up to that long,
        capped by the action's timeout and the blocking cap. The call belongs to `caller`,
        whichever namespace owns the action."""
        options = options or CallOptions()
        arrived = now_ms()
        if not self.accepting:
            raise Unavailable()
        call_id = options.call_id or CallId.new()
        params, blob = claims.check(
            call_id, params, params_size, self.settings, options.claim_check, options.body
        )
        target = await resolve_action(self.store, self.packages, caller, namespace, path)
        function = target.function
        if function.is_sequence:
            await self._check_components(caller, list(function.components))
        if self.feeds is not None and is_feed(function):
            return await self._run_feed(caller, target, params, meta, options.trace)
        action = target.action
        call, candidate = self._new_call(
            caller, target, params, meta, options, call_id, blob, arrived
        )
        call_id, lease_until = call.id, call.lease_until
        waiter = self.waiters.register(call_id) if wait_ms is not None else None
        # a caller who waits is told the call's id only with its end, or after the call is
        # made durable (below): until then a commit that survives a crash of Sluice will do
        write = asyncio.ensure_future(self.queue.enqueue(call, durable=waiter is None))
        if lease_until is not None:
            # hand the lease over once the write commits, even if this request is gone by then
            write.add_done_callback(lambda done: self._written(done, candidate, call))
        try:
            await asyncio.shield(write)
        except BaseException as exc:
            if waiter is not None:
                waiter.cancel()
                self.waiters.done(call_id)
            if isinstance(exc, DuplicateCall):
                return await self._replay(caller, exc.existing, wait_ms)
            raise
        metrics.call_accepted(caller, action.name, meta.dialect)
        spans.accepted(call.trace, caller, action.name, call_id.hex, arrived, now_ms())
        if log.isEnabledFor(logging.DEBUG):
            about = logs.about(call_id.hex, caller, action.name, call.trace)
            log.debug("call %s of %s accepted", call_id.hex, action.name, extra=about)
        if lease_until is None:
            self.dispatcher.wake()
        if waiter is None or wait_ms is None:
            return Accepted(call_id, None)
        cap = min(wait_ms, self.settings.blocking_wait_ms, function.timeout_ms + 1000)
        if await self.waiters.wait(call_id, waiter, cap / 1000):
            ended = await self.store.get_call(call_id)
            if ended is not None and ended.state.terminal:
                return Accepted(call_id, ended)
        await self.queue.make_durable(call_id)  # the caller comes back for it by its id
        return Accepted(call_id, None)

    async def _check_components(self, caller: str, components: list[str]) -> None:
        """As OpenWhisk: whoever invokes a sequence must be allowed to invoke each of its
        components (Forbidden otherwise); one that is gone fails when its step runs."""
        for component in components:
            ref = parse_reference(caller, component)
            with contextlib.suppress(NotFound):
                await resolve_action(self.store, self.packages, caller, ref.namespace, ref.path)

    def _new_call(
        self,
        caller: str,
        target: Target,
        params: dict[str, Any],
        meta: CallMeta,
        options: CallOptions,
        call_id: CallId,
        blob: bytes | None,
        arrived: int,
    ) -> tuple[NewCall, Candidate]:
        """The call to write, made when its request `arrived` (so its trace's accept span
        lies inside its own); leased at once when a worker has room and it may run now."""
        when = When(arrived, options.run_at)
        call = new_call(
            caller,
            target,
            params,
            meta,
            call_id,
            when,
            callback=options.callback,
            idempotency_key=options.idempotency_key,
            blob=blob,
            parent=options.trace,
        )
        candidate = candidate_of(call)
        lease_until = self.dispatcher.reserve(candidate) if call.visible_at == when.now else None
        if lease_until is not None:
            call = dataclasses.replace(call, state=CallState.RUNNING, lease_until=lease_until)
        return call, candidate

    async def _replay(self, caller: str, call_id: CallId, wait_ms: int | None) -> Accepted:
        """The earlier call an idempotency key names, waited for as the new one would be."""
        if wait_ms is None:
            return Accepted(call_id, None, replayed=True)
        call = await self.wait(caller, call_id, min(wait_ms, self.settings.blocking_wait_ms) / 1000)
        if call.state.terminal:
            return Accepted(call_id, call, replayed=True)
        await self.queue.make_durable(call_id)  # it may be a waiting caller's, not yet durable
        return Accepted(call_id, None, replayed=True)

    def _written(self, write: asyncio.Future[None], candidate: Candidate, call: NewCall) -> None:
        if write.cancelled() or write.exception() is not None:
            self.dispatcher.release(candidate)
        else:
            self.dispatcher.run_leased(call.lease())

    async def _run_feed(
        self,
        caller: str,
        target: Target,
        params: dict[str, Any],
        meta: CallMeta,
        parent: Trace | None,
    ) -> Accepted:
        """A built-in feed action runs here and now; its activation is recorded finished."""
        assert self.feeds is not None
        now = now_ms()
        feed = target.path.rpartition("/")[2]
        try:
            result = await self.feeds.lifecycle(caller, feed, params)
            state = CallState.SUCCESS
        except SluiceError as exc:
            result, state = {"error": exc.message}, CallState.APPLICATION_ERROR
        ended = now_ms()
        record: dict[str, Any] = {
            "result": result,
            "logs": [],
            "start": now,
            "end": ended,
            "waitTime": 0,
            "kind": BUILTIN_KIND,
            "version": target.action.version,
            "limits": dict(target.function.limits),
        }
        params = {k: v for k, v in params.items() if k != "authKey"}  # never store keys
        made = new_call(caller, target, params, meta, CallId.new(), When(now), parent=parent)
        call = dataclasses.replace(made, memory_mb=0, state=state, record=record, ended=ended)
        await self.queue.enqueue(call)
        return Accepted(call.id, await self.store.get_call(call.id))

    async def get(self, namespace: str, call_id: CallId) -> Call:
        call = await self.store.get_call(call_id)
        if call is None or call.namespace != namespace:
            raise NotFound()
        return call

    async def wait(self, namespace: str, call_id: CallId, seconds: float) -> Call:
        """The call once it is terminal, or as it is after `seconds`."""
        call = await self.get(namespace, call_id)
        if call.state.terminal or seconds <= 0:
            return call
        waiter = self.waiters.register(call_id)
        call = await self.get(namespace, call_id)  # it may have ended before we registered
        if call.state.terminal:
            self.waiters.done(call_id)
            return call
        await self.waiters.wait(call_id, waiter, seconds)
        return await self.get(namespace, call_id)

    async def page(self, query: CallFilter) -> list[Call]:
        return await self.store.list_calls(query)

    async def count(self, query: CallFilter) -> int:
        return await self.store.count_calls(query)

    async def stop_accepting(self) -> None:
        self.accepting = False
        await asyncio.sleep(0)
        self.waiters.release_all()
