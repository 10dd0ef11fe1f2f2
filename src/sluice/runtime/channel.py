"""The control channel to a runner: one JSON line each way over a socketpair, never the
function's stdin or stdout."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import cast


def socketpair() -> tuple[socket.socket, socket.socket]:
    """(parent end, child end): the child end is passed to the runner as an open fd."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    parent.setblocking(False)
    return parent, child


class Channel(asyncio.Protocol):
    """Splits what the runner writes into lines; an over-long line ends the channel."""

    def __init__(self, on_line: Callable[[bytes], None], on_overflow: Callable[[], None]) -> None:
        self.on_line = on_line
        self.on_overflow = on_overflow
        #: largest answer line accepted: runners check the result limit themselves, this only
        #: guards the platform against a runner writing without end
        self.max_line = 64 << 20
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._scanned = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio's classes
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._buffer and data.endswith(b"\n") and data.count(b"\n") == 1:
            self.on_line(data[:-1])  # the usual case: one whole answer in one read
            return
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end < 0:
                self._scanned = len(self._buffer)
                if self._scanned > self.max_line:
                    self._buffer.clear()
                    self._scanned = 0
                    self.on_overflow()
                return
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            self._scanned = 0
            self.on_line(line)

    def send(self, message: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(message)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
