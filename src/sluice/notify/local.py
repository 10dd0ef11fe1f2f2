"""Events between the two processes of one embedded Sluice (`SLUICE_WORKER_PROCESS`): the
API process listens on a unix socket in the data dir, its worker process connects.

The worker hears "calls were queued" (no polling between takes) and cancel requests; the
API process hears call ends (its blocking requests and callbacks wake) and cancel answers.
A frame is one kind byte and a 16-byte call id. The worker process says it is ready (its
runtime and worker loop started) in a frame of its own: the API process reports ready only
then, so that a call made at once does not wait behind the worker's start. The API process
asks after the worker's warm processes (OpenFaaS's replicas) and drops them (scaled to zero)
in frames followed by text: the 16 bytes are then a request id and the text's length. Frames
sent in
one turn of the event loop go out in one write, and a burst of accepts costs the worker one
wake-up, not one each.

A stream socket, not datagrams: an event is never dropped because the reader was busy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import cast

from sluice.ids import CallId
from sluice.notify.waiters import Waiters

log = logging.getLogger("sluice.events")

_FRAME = 17
_NO_ID = bytes(16)
#: the kinds of frame
_QUEUED, _DONE, _CANCEL, _CANCELLED, _NOT_HERE = b"q", b"d", b"c", b"k", b"n"
_READY = b"r"
#: frames followed by text (a process key prefix): warm processes asked after, dropped
_WARM, _DROP = b"w", b"x"
_WITH_TEXT = (_WARM, _DROP)
#: the answer to _WARM: the request id and the count
_WARM_IS = b"v"
#: how long a cancel waits for the worker process to answer
_CANCEL_WAIT_S = 0.5
#: how long the worker process tries to reach the API process at start
_CONNECT_S = 30.0


class _Link(asyncio.Protocol):
    def __init__(self, events: LocalEvents) -> None:
        self.events = events
        self.transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.events.links.add(self)

    def data_received(self, data: bytes) -> None:
        data = self._buffer + data
        at, end = 0, len(data)
        while end - at >= _FRAME:
            kind, raw = data[at : at + 1], data[at + 1 : at + _FRAME]
            extra = int.from_bytes(raw[8:], "big") if kind in _WITH_TEXT else 0
            if end - at < _FRAME + extra:
                break  # its text is still on the way
            self.events.heard(kind, raw, data[at + _FRAME : at + _FRAME + extra])
            at += _FRAME + extra
        self._buffer = data[at:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.links.discard(self)
        self.events.lost()


class LocalEvents:
    """One side of the link: `listen` in the API process, `connect` in the worker process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.links: set[_Link] = set()
        self._waiters: Waiters | None = None
        self._server: asyncio.Server | None = None
        self._pending = bytearray()
        self._queued_pending = False
        self._cancel: Callable[[CallId], bool] | None = None
        self._asked: dict[bytes, asyncio.Future[bool]] = {}
        self._counts: dict[bytes, asyncio.Future[int]] = {}
        self._requests = 0
        #: the worker side: its runtime's warm processes, counted and dropped by key prefix
        self._warm: Callable[[str], int] | None = None
        self._drop: Callable[[str], None] | None = None
        #: the worker side: told of "calls were queued"
        self._on_queued: Callable[[], None] | None = None
        #: between start and stop: this process's call ends are told to the other one
        self._telling = False
        #: the worker side: told when the API process is gone
        self.on_lost: Callable[[], None] | None = None
        self._closing = False
        self._dir_fd: int | None = None
        #: the API side: set while a worker process is linked and ready to run calls
        self.ready = asyncio.Event()

    async def listen(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.unlink(missing_ok=True)  # left by a process that died
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: _Link(self), self._address())
        self.path.chmod(0o600)

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _CONNECT_S
        while True:
            try:
                await loop.create_unix_connection(lambda: _Link(self), self._address())
                return
            except OSError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def _address(self) -> str:
        """The socket's path, short enough for a unix address (108 bytes) however deep the
        data dir is: through a descriptor of its directory when the path is too long."""
        if len(os.fsencode(self.path)) < 100:
            return str(self.path)
        if self._dir_fd is None:
            self._dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        return f"/proc/self/fd/{self._dir_fd}/{self.path.name}"

    # the same surface as NatsEvents, so the engine does not tell them apart
    async def start(self, waiters: Waiters) -> None:
        self._waiters = waiters
        self._telling = True

    async def serve_cancels(self, cancel: Callable[[CallId], bool]) -> None:
        self._cancel = cancel

    def serve_worker(
        self,
        queued: Callable[[], None],
        warm: Callable[[str], int],
        drop: Callable[[str], None],
    ) -> None:
        """The worker side: wake the worker when calls were queued, and answer for its
        runtime's warm processes."""
        self._on_queued = queued
        self._warm, self._drop = warm, drop

    async def warm_remote(self, prefix: str) -> int | None:
        """The worker process's live processes of the keys starting with `prefix`; None
        when it does not answer (not linked, or busy past the wait)."""
        if not self.links:
            return None
        self._requests += 1
        request = self._requests.to_bytes(8, "big")
        future = asyncio.get_running_loop().create_future()
        self._counts[request] = future
        self._send_text(_WARM, request, prefix)
        try:
            return await asyncio.wait_for(future, _CANCEL_WAIT_S)
        except TimeoutError:
            return None
        finally:
            self._counts.pop(request, None)

    def drop_remote(self, prefix: str) -> None:
        """Have the worker process stop its idle processes of the keys starting with `prefix`."""
        self._send_text(_DROP, bytes(8), prefix)

    def _send_text(self, kind: bytes, request: bytes, text: str) -> None:
        encoded = text.encode()
        self._send(kind, request + len(encoded).to_bytes(8, "big"))
        self._pending += encoded

    async def cancel_remote(self, call_id: CallId) -> bool:
        """Ask the worker process to stop the call: True if it ran there and was stopped."""
        if not self.links:
            return False
        future = asyncio.get_running_loop().create_future()
        self._asked[call_id.raw] = future
        self._send(_CANCEL, call_id.raw)
        try:
            return await asyncio.wait_for(future, _CANCEL_WAIT_S)
        except TimeoutError:
            return False
        finally:
            self._asked.pop(call_id.raw, None)

    def tell_ready(self) -> None:
        """The worker side: its start is done, calls can run."""
        self._send(_READY, _NO_ID)

    def publish(self, call_id: CallId) -> None:
        if self._telling:
            self._send(_DONE, call_id.raw)

    def queued(self) -> None:
        """Calls were queued: the worker process looks at the queue (once for a burst)."""
        if not self._queued_pending:
            self._queued_pending = True
            self._send(_QUEUED, _NO_ID)

    def _send(self, kind: bytes, raw: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending += kind + raw

    def _flush(self) -> None:
        frames = bytes(self._pending)
        self._pending.clear()
        self._queued_pending = False
        for link in self.links:
            if link.transport is not None and not link.transport.is_closing():
                link.transport.write(frames)

    def heard(self, kind: bytes, raw: bytes, text: bytes = b"") -> None:
        if kind == _DONE:
            if self._waiters is not None:
                self._waiters.arrived(CallId(raw))
        elif kind == _QUEUED:
            if self._on_queued is not None:
                self._on_queued()
        elif kind == _CANCEL:
            stopped = self._cancel is not None and self._cancel(CallId(raw))
            self._send(_CANCELLED if stopped else _NOT_HERE, raw)
        elif kind == _READY:
            self.ready.set()
        elif kind in (_WARM, _WARM_IS, _DROP):
            self._heard_pool(kind, raw, text)
        elif kind in (_CANCELLED, _NOT_HERE):
            future = self._asked.get(raw)
            if future is not None and not future.done():
                future.set_result(kind == _CANCELLED)
        else:
            log.warning("unknown event frame %r from the other process", kind)

    def _heard_pool(self, kind: bytes, raw: bytes, text: bytes) -> None:
        if kind == _WARM:
            count = self._warm(text.decode()) if self._warm is not None else 0
            self._send(_WARM_IS, raw[:8] + count.to_bytes(8, "big"))
        elif kind == _WARM_IS:
            waiting = self._counts.get(raw[:8])
            if waiting is not None and not waiting.done():
                waiting.set_result(int.from_bytes(raw[8:], "big"))
        elif self._drop is not None:
            self._drop(text.decode())

    def lost(self) -> None:
        if not self.links:
            self.ready.clear()
        if not self._closing and self.on_lost is not None:
            self.on_lost()

    async def stop(self) -> None:
        self._closing = True
        self._telling = False
        if self._pending:
            self._flush()
        for link in list(self.links):
            if link.transport is not None:
                link.transport.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self.path.unlink(missing_ok=True)
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None
