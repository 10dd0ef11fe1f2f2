"""Routes added over rtnetlink, what `ip route add` sends, on a socket made in the network
they are for (sandbox/netns.py): a socket acts in the namespace it was made in, so the
server sets a sandbox's routes without starting `nsenter` and `ip` for each process.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

_RTM_NEWROUTE = 24
_NLMSG_ERROR = 2
#: a request, acknowledged, for a new route that must not exist yet (`ip route add`'s)
_FLAGS = 0x1 | 0x4 | 0x200 | 0x400  # NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
_RT_TABLE_MAIN = 254
_RTPROT_BOOT = 3
_RT_SCOPE_UNIVERSE = 0
_RTN_UNICAST, _RTN_UNREACHABLE = 1, 7
_RTA_DST, _RTA_OIF, _RTA_GATEWAY = 1, 4, 5
_SIOCGIFINDEX = 0x8933
_HEADER = struct.Struct("IHHII")  # struct nlmsghdr


@dataclass(frozen=True)
class Route:
    """One route: "no route to host" for `network`, or through `gateway` on `device`."""

    network: IPv4Network
    gateway: IPv4Address | None = None
    device: str = ""

    def __str__(self) -> str:
        if self.gateway is None:
            return f"unreachable {self.network}"
        return f"{self.network} via {self.gateway} dev {self.device}"


async def add_routes(link: socket.socket, routes: Sequence[Route]) -> None:
    """Add `routes` through `link`, a non-blocking NETLINK_ROUTE socket: one write of every
    request, then their answers; the first refused one raises."""
    indexes = {r.device: _index(link, r.device) for r in routes if r.gateway is not None}
    requests = b"".join(
        _request(seq, route, indexes.get(route.device, 0)) for seq, route in enumerate(routes, 1)
    )
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(link, requests)
    waiting = set(range(1, len(routes) + 1))
    while waiting:
        data = await loop.sock_recv(link, 1 << 16)
        if not data:
            raise OSError("rtnetlink closed before answering")
        for seq, error in _answers(data):
            waiting.discard(seq)
            if error:
                route = routes[seq - 1] if 0 < seq <= len(routes) else "?"
                raise OSError(-error, f"route {route}: {os.strerror(-error)}")


def _request(seq: int, route: Route, index: int) -> bytes:
    """RTM_NEWROUTE of `route` in the main table; `index`: its device's, if it has a gateway."""
    attrs = _attr(_RTA_DST, route.network.network_address.packed)
    kind = _RTN_UNREACHABLE
    if route.gateway is not None:
        kind = _RTN_UNICAST
        attrs += _attr(_RTA_GATEWAY, route.gateway.packed) + _attr(
            _RTA_OIF, struct.pack("I", index)
        )
    # struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
    body = struct.pack(
        "BBBBBBBBI",
        socket.AF_INET,
        route.network.prefixlen,
        0,
        0,
        _RT_TABLE_MAIN,
        _RTPROT_BOOT,
        _RT_SCOPE_UNIVERSE,
        kind,
        0,
    )
    body += attrs
    return _HEADER.pack(_HEADER.size + len(body), _RTM_NEWROUTE, _FLAGS, seq, 0) + body


def _attr(kind: int, data: bytes) -> bytes:
    """A struct rtattr, padded to 4 bytes."""
    return struct.pack("HH", 4 + len(data), kind) + data + b"\0" * (-len(data) % 4)


def _answers(data: bytes) -> list[tuple[int, int]]:
    """(seq, error) of each NLMSG_ERROR in `data` (error 0: done; -errno: refused)."""
    found = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _, seq, _ = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        if kind == _NLMSG_ERROR:
            (error,) = struct.unpack_from("i", data, offset + _HEADER.size)
            found.append((seq, error))
        offset += (length + 3) & ~3
    return found


def _index(link: socket.socket, device: str) -> int:
    """The index of `device` in the network `link` was made in."""
    request = struct.pack("16si12x", device.encode(), 0)
    return int(struct.unpack("16si12x", fcntl.ioctl(link.fileno(), _SIOCGIFINDEX, request))[1])
