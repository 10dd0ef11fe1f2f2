"""Wake requests that wait for a call to end: an in-process future per waiter, no polling.

With several processes, a call may end on another host: `broadcast`, when given, tells the
others of each call that ended here (an Events' `publish`), and they `arrived` it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Protocol

from sluice.ids import CallId


class Events(Protocol):
    """Call ends and cancel requests between processes (NATS, or the local socket)."""

    async def start(self, waiters: Waiters) -> None:
        """Hear the other processes' call ends and tell them ours."""

    async def serve_cancels(self, cancel: Callable[[CallId], bool]) -> None:
        """A worker: stop a call running here when another process is asked to cancel it."""

    async def cancel_remote(self, call_id: CallId) -> bool:
        """Ask whichever worker runs the call to stop it: True if one did."""

    def publish(self, call_id: CallId) -> None:
        """Tell the other processes that the call ended here (once started, until stopped)."""

    async def stop(self) -> None: ...


class Waiters:
    def __init__(
        self,
        listeners: Sequence[Callable[[CallId], None]] = (),
        broadcast: Callable[[CallId], None] | None = None,
    ) -> None:
        self._waiting: dict[bytes, set[asyncio.Future[None]]] = {}
        #: told of every call that ended (the callback sender listens)
        self.listeners: list[Callable[[CallId], None]] = list(listeners)
        #: tells the other processes of a call that ended here (None: there are none)
        self.broadcast = broadcast

    def register(self, call_id: CallId) -> asyncio.Future[None]:
        """Register before the call can end, then `wait` on the returned future."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(call_id.raw, set()).add(future)
        return future

    async def wait(self, call_id: CallId, future: asyncio.Future[None], seconds: float) -> bool:
        """True when the call ended within `seconds`."""
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=max(seconds, 0))
            return True
        except TimeoutError:
            return False
        finally:
            self._forget(call_id, future)

    def _forget(self, call_id: CallId, future: asyncio.Future[None]) -> None:
        futures = self._waiting.get(call_id.raw)
        if futures is not None:
            futures.discard(future)
            if not futures:
                del self._waiting[call_id.raw]

    def done(self, call_id: CallId) -> None:
        """The call ended in this process."""
        self.arrived(call_id)
        if self.broadcast is not None:
            self.broadcast(call_id)

    def arrived(self, call_id: CallId) -> None:
        """The call ended, here or on another host."""
        for listener in self.listeners:
            listener(call_id)
        for future in self._waiting.pop(call_id.raw, ()):
            with contextlib.suppress(asyncio.InvalidStateError):
                future.set_result(None)

    def release_all(self) -> None:
        """On shutdown: answer every waiter now (they then report the call as still running)."""
        for futures in self._waiting.values():
            for future in futures:
                with contextlib.suppress(asyncio.InvalidStateError):
                    future.set_result(None)
        self._waiting.clear()
