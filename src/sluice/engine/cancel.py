"""Cancelling calls at a caller's request: a queued call ends at once, a running one is
stopped by the worker running it; either way it ends as `cancelled` (its callback, if any,
then goes out). All the queued calls of a function can be cancelled at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sluice.engine.dispatch import Dispatcher
from sluice.engine.execution import CANCELLED
from sluice.errors import Conflict, NotFound
from sluice.ids import CallId
from sluice.notify.waiters import Waiters
from sluice.queue.base import Queue
from sluice.records import Call, CallState
from sluice.store.base import Outcome, Store
from sluice.timing import now_ms

#: a call just leased may take a moment to show up in its worker
_TRIES = 20
_PAUSE_SECONDS = 0.01


def cancelled() -> Outcome:
    now = now_ms()
    return Outcome(CallState.CANCELLED, {"result": {"error": CANCELLED}, "logs": []}, now)


class Cancellation:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        dispatcher: Dispatcher,
        waiters: Waiters,
        remote: Callable[[CallId], Awaitable[bool]] | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.dispatcher = dispatcher
        self.waiters = waiters
        #: asks the other hosts' workers to stop a call running there (None: one process)
        self.remote = remote

    async def call(self, namespace: str, call_id: CallId) -> None:
        """Cancel one call; NotFound if there is none, Conflict if it has ended."""
        for _ in range(_TRIES):
            call = await self._get(namespace, call_id)
            if call.state.terminal:
                raise Conflict(f"The call has ended already ({call.state.value}).")
            if call.state is CallState.QUEUED:
                if await self.queue.cancel_queued(namespace, cancelled(), call_id=call_id):
                    self.waiters.done(call_id)
                    return
            elif self.dispatcher.cancel(call_id) or (
                self.remote is not None and await self.remote(call_id)
            ):
                return
            await asyncio.sleep(_PAUSE_SECONDS)  # it moved on meanwhile: look again
        raise Conflict("The call could not be cancelled; try again.")

    async def queued_of(self, namespace: str, path: str) -> int:
        """Cancel every queued call of the function at `path`; how many there were."""
        ended = await self.queue.cancel_queued(namespace, cancelled(), path=path)
        for call_id in ended:
            self.waiters.done(call_id)
        return len(ended)

    async def _get(self, namespace: str, call_id: CallId) -> Call:
        call = await self.store.get_call(call_id)
        if call is None or call.namespace != namespace:
            raise NotFound()
        return call
