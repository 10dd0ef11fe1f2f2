"""Sluice's API inside a function's own network namespace.

A function process with a network of its own reaches nothing of the host, its loopback
included. So that `__OW_API_HOST` and the in-function clients keep working, the server opens
a listening socket *inside* that namespace, on the loopback address and port the function is
told, and forwards each connection made to it to the API. Nothing else of the host is
reachable: no other port, no other address.

The socket is made in that namespace (sandbox/netns.py: by a short-lived thread under root,
by a small agent process otherwise). A bridge serves a bounded number of connections at
once: a function opening thousands of sockets to the API waits in its backlog instead of
taking the server's file descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sluice.sandbox.netns import Netns

log = logging.getLogger("sluice.sandbox")

_SIOCGIFFLAGS = 0x8913
_IFF_UP = 0x1
#: the longest bubblewrap may take to bring a new network's loopback up
_LOOPBACK_SECONDS = 10.0
#: connections one function process has open to the API at once
MAX_CONNECTIONS = 32
_CHUNK = 1 << 16


def _listener(address: tuple[str, int], made: socket.socket | None = None) -> socket.socket:
    listener = made or socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(MAX_CONNECTIONS)
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


async def loopback_ready(ns: Netns) -> None:
    """Wait until the loopback of process `pid`'s new network is up: bubblewrap brings it up
    in the sandbox while the server already knows the pid, and nothing else may touch the
    namespace before (a listener there would find no address, a second netlink client would
    make bubblewrap's fail)."""
    probe = await ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
    deadline = asyncio.get_running_loop().time() + _LOOPBACK_SECONDS
    try:
        while not _is_up(probe, b"lo"):
            if asyncio.get_running_loop().time() > deadline:
                raise OSError(f"the loopback of process {ns.pid}'s network never came up")
            await asyncio.sleep(0.0005)
    finally:
        probe.close()


def _is_up(probe: socket.socket, name: bytes) -> bool:
    request = struct.pack("16sH14x", name, 0)
    try:
        flags = struct.unpack("16sH14x", fcntl.ioctl(probe.fileno(), _SIOCGIFFLAGS, request))[1]
    except OSError:
        return False
    return bool(flags & _IFF_UP)


async def listen_in(ns: Netns, address: tuple[str, int]) -> socket.socket:
    """A listening socket on `address` in the network namespace `ns`."""
    return _listener(address, await ns.socket(socket.AF_INET, socket.SOCK_STREAM))


async def connect_in(ns: Netns, address: tuple[str, int]) -> socket.socket:
    """A socket connected to `address` in the network namespace `ns` (a socket's namespace
    is the one it was made in: only the making happens there)."""
    made = await ns.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        await asyncio.get_running_loop().sock_connect(made, address)
    except BaseException:
        made.close()
        raise
    return made


async def open_in(ns: Netns, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to `port` on the loopback of the network `ns`."""
    return await asyncio.open_connection(sock=await connect_in(ns, ("127.0.0.1", port)))


#: opens the far end of one bridged connection
Connector = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class Forward(Protocol):
    """A port on the server's loopback that reaches a process's own server."""

    @property
    def port(self) -> int: ...

    #: connections it accepted but could not pass on (the process no longer listens)
    refusals: int


class Bridge:
    """Forwards each connection made to `listener` to what `connect` opens: a function's
    connections to the API, or Sluice's to a function's own server in its namespace."""

    def __init__(self, listener: socket.socket, connect: Connector, what: str) -> None:
        self.listener = listener
        self.connect = connect
        self.what = what
        #: connections whose far end could not be opened (nothing of them was passed on)
        self.refusals = 0
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            try:
                conn, _ = await loop.sock_accept(self.listener)
            except OSError:
                self._slots.release()
                return
            task = loop.create_task(self._forward(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _forward(self, conn: socket.socket) -> None:
        try:
            inner_reader, inner_writer = await asyncio.open_connection(sock=conn)
            try:
                api_reader, api_writer = await self.connect()
            except OSError as exc:
                log.debug("%s is unreachable: %s", self.what, exc)
                self.refusals += 1
                inner_writer.close()
                return
            await asyncio.gather(_pipe(inner_reader, api_writer), _pipe(api_reader, inner_writer))
        except OSError:
            pass
        finally:
            self._slots.release()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    async def close(self) -> None:
        self._accepting.cancel()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._accepting
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.listener.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass
    finally:
        if reader.at_eof():
            writer.close()


def api_bridge(listener: socket.socket, target: tuple[str, int]) -> Bridge:
    """A function's connections to `listener` (in its namespace) go to the API at `target`."""
    return Bridge(listener, lambda: asyncio.open_connection(*target), f"the API at {target}")


async def port_forward(ns: Netns, port: int) -> Bridge:
    """A port on the server's loopback whose connections reach `port` on the loopback of
    the network `ns` (a function's own HTTP server)."""
    return Bridge(
        _listener(("127.0.0.1", 0)), lambda: open_in(ns, port), f"port {port} of process {ns.pid}"
    )


@dataclass
class SamePort:
    """The process shares the server's network: its port is reached as it is."""

    port: int
    refusals: int = 0
