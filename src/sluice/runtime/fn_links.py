"""How Sluice talks to a warm Fn function: over the unix socket its FDK listens on
(`http-stream`), or over its stdin and stdout (`json`)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Protocol

from sluice.runtime.child import Child
from sluice.runtime.fn_http import ProtocolError, exchange
from sluice.runtime.fn_json import Framer, JsonAnswer, decode, encode
from sluice.runtime.fn_request import FnRequest

#: how long an FDK may take to create its socket (Fn allows 5 s)
START_SECONDS = 10.0
#: a unix socket path is at most this long
_SOCKET_MAX = 107
_POLL_SECONDS = 0.02


class Reply(Protocol):
    """A function's answer: `status` 200 ran, 502 raised, 504 timed out (Fn's contract)."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...

    def user_status(self) -> int: ...

    def user_headers(self) -> dict[str, str]: ...


class Link(Protocol):
    #: the variables that tell the function how it is spoken to
    env: dict[str, str]
    #: the read end of the function's stdin, closed by the caller once it has started
    stdin: int | None
    #: why a function that never became ready did not
    not_ready: str

    async def ready(self, child: Child) -> bool:
        """Wait until the started function can take calls; False when it never will."""

    async def exchange(self, request: FnRequest, limit: int) -> Reply:
        """One call; ProtocolError (or OSError) when the answer breaks the contract."""

    def stdout(self, line: bytes) -> bool:
        """Take a line of the function's stdout when it is part of the protocol."""

    def close(self) -> None: ...


class SocketLink:
    """http-stream: the function listens on the unix socket named by FN_LISTENER."""

    stdin: int | None = None
    not_ready: str = (
        f"the function did not listen on FN_LISTENER within {START_SECONDS:g} s"
        " (is it written for an FDK?)"
    )

    def __init__(self, home: Path) -> None:
        self.socket = home / "iofs" / "lsnr.sock"
        if len(str(self.socket)) + len("phony") > _SOCKET_MAX:
            raise OSError(f"the socket path {self.socket} is too long for a unix socket")
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        self.env = {"FN_FORMAT": "http-stream", "FN_LISTENER": f"unix:{self.socket}"}

    async def ready(self, child: Child) -> bool:
        """The socket exists (a symlink to the FDK's own, as Fn's FDKs make it)."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.socket.exists():
                return True
            if not child.alive:
                return False
            await asyncio.sleep(_POLL_SECONDS)
        return False

    async def exchange(self, request: FnRequest, limit: int) -> Reply:
        return await exchange(str(self.socket), request, limit)

    def stdout(self, line: bytes) -> bool:
        return False

    def close(self) -> None:
        pass


class PipeLink:
    """json: a frame per call on the function's stdin, its answer on its stdout."""

    not_ready: str = "the function exited as soon as it started"

    def __init__(self) -> None:
        self.stdin: int | None
        self.stdin, self._write_end = os.pipe()
        self.env = {"FN_FORMAT": "json"}
        self._framer = Framer(1 << 20)
        self._transport: asyncio.WriteTransport | None = None
        self._child: Child | None = None
        self._waiter: asyncio.Future[JsonAnswer] | None = None

    async def ready(self, child: Child) -> bool:
        self._child = child
        pipe = os.fdopen(self._write_end, "wb", buffering=0)
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.connect_write_pipe(asyncio.Protocol, pipe)
        return child.alive

    async def exchange(self, request: FnRequest, limit: int) -> Reply:
        assert self._transport is not None
        assert self._child is not None
        self._framer.limit = limit
        waiter: asyncio.Future[JsonAnswer] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            self._transport.write(encode(request))
            either: list[asyncio.Future[Any]] = [waiter, self._child.closed]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiter = None
        if not waiter.done():
            status = self._child.returncode
            raise ProtocolError(f"the function exited (status {status}) before it answered")
        return waiter.result()

    def stdout(self, line: bytes) -> bool:
        if not self._framer.takes(line):
            return False
        try:
            frame = self._framer.feed(line)
            if frame is not None:
                self._settle(decode(frame), None)
        except ProtocolError as exc:
            self._settle(None, exc)
        return True

    def _settle(self, answer: JsonAnswer | None, error: ProtocolError | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody asked: an answer outside a call is dropped
        if error is not None:
            waiter.set_exception(error)
        elif answer is not None:
            waiter.set_result(answer)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        else:
            os.close(self._write_end)
