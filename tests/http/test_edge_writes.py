"""A response's head waits for its body so that both leave in one write; nothing is lost,
reordered or left unsent: on a real socket under the server's own event loop (uvloop)."""

from __future__ import annotations

import asyncio
import socket

import uvloop

from sluice.http.edge import _OneWritePerResponse

HEAD = b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n"


class _Writes:
    """The transport's writes, as a list, before they reach it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.transport.write(data)

    def close(self) -> None:
        self.transport.close()


def _read_all(peer: socket.socket) -> bytes:
    peer.settimeout(10)
    out = b""
    while chunk := peer.recv(65536):
        out += chunk
    return out


async def _scenario() -> tuple[list[bytes], list[bytes], bytes]:
    ours, peer = socket.socketpair()
    loop = asyncio.get_running_loop()
    raw, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    writes = _Writes(raw)
    edge = _OneWritePerResponse(writes, loop)
    edge.write(HEAD)
    edge.write(b"{}")  # a head and its body: one write
    together = list(writes.writes)
    edge.write(HEAD)  # a head whose body is slow to come: out by the end of the turn
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    alone = writes.writes[len(together) :]
    edge.write(b"{}")
    edge.write(HEAD)  # held when the connection closes: sent before it
    edge.close()
    received = await asyncio.to_thread(_read_all, peer)
    peer.close()
    return together, alone, received


def test_head_and_body_leave_together_and_nothing_is_held_back() -> None:
    together, alone, received = uvloop.run(_scenario())
    assert together == [HEAD + b"{}"]
    assert alone == [HEAD]
    assert received == HEAD + b"{}" + HEAD + b"{}" + HEAD
