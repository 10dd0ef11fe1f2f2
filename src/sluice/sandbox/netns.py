"""Making sockets inside a sandbox's own network namespace, from the server.

A socket belongs to the network it was made in, wherever it is used afterwards: the server
only has to *make* a socket there (a listener for the API bridge, a connection to the
function's own HTTP server, a probe of its loopback). Under root a short-lived thread joins
the network (`setns` moves only the calling thread) and makes it. A server of another user
must join the sandbox's user namespace first, which no thread of a running process may, so
a small agent process (sandbox/netns_agent.py) joins both for each sandbox and hands the
server the sockets it asks for.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Protocol

_CLONE_NEWNET = 0x40000000
_NS_GET_USERNS = 0xB701
_AGENT = Path(__file__).with_name("netns_agent.py")
_libc = ctypes.CDLL(None, use_errno=True)


class Netns(Protocol):
    """The network namespace of one sandbox, seen from the server."""

    @property
    def pid(self) -> int: ...

    async def socket(self, family: int, kind: int) -> socket.socket:
        """A new non-blocking socket made in that network."""

    async def close(self) -> None:
        """The sandbox is gone."""


def netns_of(pid: int) -> Netns:
    """The network namespace of process `pid`, reached the way this server's user can."""
    return ThreadNetns(pid) if os.geteuid() == 0 else AgentNetns(pid)


class ThreadNetns:
    def __init__(self, pid: int) -> None:
        self.pid = pid

    async def socket(self, family: int, kind: int) -> socket.socket:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[socket.socket] = loop.create_future()

        def make() -> None:
            try:
                _join_network(self.pid)
                made = socket.socket(family, kind)
                made.setblocking(False)
            except BaseException as exc:
                loop.call_soon_threadsafe(_settle_error, done, exc)
            else:
                loop.call_soon_threadsafe(_settle, done, made)

        # a thread of its own: it leaves the server's namespace for good, then ends
        threading.Thread(target=make, name="sluice-netns", daemon=True).start()
        return await done

    async def close(self) -> None:
        return None


class AgentNetns:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._agent: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._turn = asyncio.Lock()

    async def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Popen vforks (the loop's subprocess, uvloop's, forks the whole server)
            self._agent = subprocess.Popen(  # noqa: ASYNC220 - as short as the loop's spawn
                [sys.executable, "-I", "-S", str(_AGENT), str(self.pid), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._channel = ours
        return ours

    async def socket(self, family: int, kind: int) -> socket.socket:
        loop = asyncio.get_running_loop()
        async with self._turn:
            channel = self._channel or await self._start()
            await loop.sock_sendall(channel, struct.pack("ii", family, kind))
            await readable(channel.fileno())
            data, fds, _, _ = socket.recv_fds(channel, 4, 1)
        if len(data) < 4:
            raise OSError(f"the network agent of process {self.pid} is gone")
        (error,) = struct.unpack("i", data)
        if error or not fds:
            raise OSError(error, f"a socket in the network of process {self.pid}")
        made = socket.socket(fileno=fds[0])
        made.setblocking(False)
        return made

    async def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._agent is not None:
            try:
                await asyncio.wait_for(exited(self._agent), 5)
            except TimeoutError:
                self._agent.kill()
                await exited(self._agent)
            self._agent = None


def network_owner(pid: int) -> int:
    """A descriptor of the user namespace that owns process `pid`'s network (bubblewrap nests
    another user namespace under it for the process itself)."""
    net = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return fcntl.ioctl(net, _NS_GET_USERNS)
    finally:
        os.close(net)


def _join_network(pid: int) -> None:
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into the network of process {pid}: {os.strerror(error)}")
    finally:
        os.close(fd)


def _settle(done: asyncio.Future[socket.socket], made: socket.socket) -> None:
    if done.cancelled():
        made.close()
    else:
        done.set_result(made)


def _settle_error(done: asyncio.Future[socket.socket], exc: BaseException) -> None:
    if not done.cancelled():
        done.set_exception(exc)


async def readable(fd: int) -> None:
    """Wait until `fd` has something to read (or its other end closed)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def exited(process: subprocess.Popen[bytes]) -> int:
    """Wait on the loop until `process`, a helper Popen started, has exited (its pidfd is
    readable), then reap it."""
    if process.returncode is not None:
        return process.returncode
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:  # no pidfd (an old kernel): a thread waits
        return await asyncio.to_thread(process.wait)
    try:
        await readable(pidfd)
    finally:
        os.close(pidfd)
    return process.wait()
