"""Sluice's API inside a function's own network namespace.

A function process with a network of its own reaches nothing of the host, its loopback
included. So that `__OW_API_HOST` and the in-function clients keep working, the server opens
a listening socket *inside* that namespace, on the loopback address and port the function is
told, and forwards each connection made to it to the API. Nothing else of the host is
reachable: no other port, no other address.

The socket is made by a short-lived thread that joins the namespace (`setns` changes only
the calling thread's namespace, and the thread ends right after), so no helper process runs
beside the function. A bridge serves a bounded number of connections at once: a function
opening thousands of sockets to the API waits in its backlog instead of taking the server's
file descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import socket
import threading

log = logging.getLogger("sluice.sandbox")

_CLONE_NEWNET = 0x40000000
#: connections one function process has open to the API at once
MAX_CONNECTIONS = 32
_CHUNK = 1 << 16
_libc = ctypes.CDLL(None, use_errno=True)


def _listen_in_namespace(pid: int, address: tuple[str, int]) -> socket.socket:
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into the network of process {pid}: {os.strerror(error)}")
    finally:
        os.close(fd)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(MAX_CONNECTIONS)
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


async def listen_in(pid: int, address: tuple[str, int]) -> socket.socket:
    """A listening socket on `address` in the network namespace of process `pid`."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[socket.socket] = loop.create_future()

    def make() -> None:
        try:
            made = _listen_in_namespace(pid, address)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle_error, done, exc)
        else:
            loop.call_soon_threadsafe(_settle, done, made)

    # a thread of its own: it leaves the server's namespace for good, then ends
    threading.Thread(target=make, name="sluice-netns", daemon=True).start()
    return await done


def _settle(done: asyncio.Future[socket.socket], made: socket.socket) -> None:
    if done.cancelled():
        made.close()
    else:
        done.set_result(made)


def _settle_error(done: asyncio.Future[socket.socket], exc: BaseException) -> None:
    if not done.cancelled():
        done.set_exception(exc)


class ApiBridge:
    """Forwards the connections a function makes to `listener` to the API at `target`."""

    def __init__(self, listener: socket.socket, target: tuple[str, int]) -> None:
        self.listener = listener
        self.target = target
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
                api_reader, api_writer = await asyncio.open_connection(*self.target)
            except OSError as exc:
                log.warning("the API at %s:%d is unreachable for a function: %s", *self.target, exc)
                inner_writer.close()
                return
            await asyncio.gather(_pipe(inner_reader, api_writer), _pipe(api_reader, inner_writer))
        except OSError:
            pass
        finally:
            self._slots.release()

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
