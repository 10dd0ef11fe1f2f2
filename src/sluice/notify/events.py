"""Call ends told across hosts on NATS core subjects, `<prefix>.done.<call id>`: the API host
holding a blocking request wakes when a worker on another host ends the call, and the
scheduler's callback sender wakes when a callback becomes due; nobody polls the store.

At-most-once, as core NATS is: a lost event costs a waiter its wait (it then answers with
the call's id, as when the wait runs out), never a result, which the store keeps.

Cancelling a running call goes the other way, as a request on `<prefix>.cancel.<call id>`
that the worker running it answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

from sluice.ids import CallId
from sluice.notify.waiters import Waiters

log = logging.getLogger("sluice.events")

#: how long a cancel waits for the worker running the call to answer
_CANCEL_WAIT_S = 0.5


class NatsEvents:
    def __init__(self, nc: Client, prefix: str) -> None:
        self.nc = nc
        self.prefix = prefix
        self._waiters: Waiters | None = None
        #: between start and stop: this host's call ends are told to the others
        self._telling = False
        self._subs: list[Subscription] = []
        self._sending: set[asyncio.Task[None]] = set()

    def subject(self, call_id: CallId) -> str:
        return f"{self.prefix}.done.{call_id.hex}"

    async def start(self, waiters: Waiters) -> None:
        """Hear every host's call ends and tell them ours (the connection is open)."""
        self._waiters = waiters
        self._subs.append(await self.nc.subscribe(f"{self.prefix}.done.*", cb=self._heard))
        self._telling = True

    async def serve_cancels(self, cancel: Callable[[CallId], bool]) -> None:
        """A worker: stop a call running here when another host is asked to cancel it."""

        async def asked(msg: Msg) -> None:
            call_id = CallId.parse(msg.subject.rpartition(".")[2])
            if call_id is not None and cancel(call_id):
                await msg.respond(b"cancelled")

        self._subs.append(await self.nc.subscribe(f"{self.prefix}.cancel.*", cb=asked))

    async def cancel_remote(self, call_id: CallId) -> bool:
        """Ask whichever worker runs the call to stop it: True if one did."""
        try:
            await self.nc.request(f"{self.prefix}.cancel.{call_id.hex}", timeout=_CANCEL_WAIT_S)
        except (NatsError, TimeoutError):
            return False
        return True

    def publish(self, call_id: CallId) -> None:
        if not self._telling:
            return
        task = asyncio.get_running_loop().create_task(self._send(call_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, call_id: CallId) -> None:
        try:
            await self.nc.publish(self.subject(call_id))
        except Exception:
            log.warning("call %s: its end was not announced", call_id.hex)

    async def _heard(self, msg: Msg) -> None:
        token = msg.subject.rpartition(".")[2]
        call_id = CallId.parse(token)
        if call_id is not None and self._waiters is not None:
            self._waiters.arrived(call_id)

    async def stop(self) -> None:
        self._telling = False
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        for sub in self._subs:
            await sub.unsubscribe()
