"""The internet for a function process, and nothing of the host's networks.

A process with `network: egress` gets, besides Sluice's API (sandbox/api_bridge.py), a way
out through a user-mode TCP/IP stack: `slirp4netns` attached to the process's own network
namespace. Its packets become ordinary sockets of the slirp4netns process on the host, so
what they may reach is decided inside the namespace, before they leave it: routes that
answer "no route to host" cover every range that is not globally reachable (loopback,
private, shared, link-local with the cloud metadata address, documentation, multicast,
reserved) and each of the host's own addresses; `SLUICE_FUNCTION_EGRESS_ALLOW` lets chosen
networks through. slirp4netns also refuses its own gateway's way to the host's loopback
(`--disable-host-loopback`), and there is no IPv6 at all. The function cannot change its
routes: it holds no capability in its namespace.

Name resolution goes to slirp4netns's DNS forwarder (the sandbox's /etc/resolv.conf names
it), which asks the host's resolver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address

import psutil

from sluice.sandbox.netns import Netns, exited, network_owner, readable
from sluice.sandbox.rtnetlink import Route, add_routes

log = logging.getLogger("sluice.sandbox")

#: the namespace's own network, as slirp4netns configures it by default
GATEWAY = "10.0.2.2"
NAMESERVER = "10.0.2.3"
RESOLV_CONF = f"nameserver {NAMESERVER}\n".encode()
_DEVICE = "tap0"
#: the device slirp4netns opens for the namespace's interface
_TUN = "/dev/net/tun"
#: the longest slirp4netns may take to bring the interface up
_READY_SECONDS = 10.0

#: IPv4 ranges that are not globally reachable (IANA's special-purpose registry), refused
NOT_GLOBAL = tuple(
    IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)


def host_addresses() -> tuple[IPv4Address, ...]:
    """The host's own IPv4 addresses: services listening on any address answer on each."""
    found: set[IPv4Address] = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            with contextlib.suppress(ValueError):
                ip = ip_address(address.address)
                if isinstance(ip, IPv4Address):
                    found.add(ip)
    return tuple(sorted(found))


def routes(allowed: Sequence[IPv4Network], host: Sequence[IPv4Address]) -> list[Route]:
    """The routes that close the namespace to everything but the internet and the networks
    allowed (the most specific route wins, so an allowed network inside a refused range gets
    through)."""
    closed = [Route(network) for network in NOT_GLOBAL]
    opened = set(allowed)
    for ip in host:
        own = IPv4Network(f"{ip}/32")
        if own not in opened and not any(ip in network for network in NOT_GLOBAL):
            closed.append(Route(own))
    gateway = IPv4Address(GATEWAY)
    return [*closed, *(Route(network, gateway, _DEVICE) for network in allowed)]


@dataclass
class Uplink:
    """One process's way out: the slirp4netns serving its namespace."""

    process: subprocess.Popen[bytes]
    #: closing it tells slirp4netns to stop (and so does the server's death)
    exit_fd: int
    closed: bool = field(default=False)
    #: what slirp4netns says once running goes to the log, so its pipe never fills
    said: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        os.close(self.exit_fd)
        if self.said is not None:
            self.said.cancel()
        try:
            await asyncio.wait_for(exited(self.process), 5)
        except TimeoutError:
            self.process.kill()
            await exited(self.process)
        if self.process.stderr is not None:
            self.process.stderr.close()


class Egress:
    """What gives function processes the internet: found once, used per process."""

    def __init__(
        self,
        slirp4netns: str,
        allowed: Sequence[IPv4Network] = (),
        host: Sequence[IPv4Address] | None = None,
    ) -> None:
        self.slirp4netns = slirp4netns
        self.allowed = tuple(allowed)
        self.host = tuple(host_addresses() if host is None else host)
        self._routes = routes(self.allowed, self.host)

    def widened(self, allowed: Sequence[IPv4Network]) -> Egress:
        """This egress letting `allowed` through too (the host's addresses as found at start)."""
        more = tuple(network for network in allowed if network not in self.allowed)
        return Egress(self.slirp4netns, (*self.allowed, *more), self.host)

    @classmethod
    def find(cls, allowed: Sequence[IPv4Network] = ()) -> Egress | None:
        """The egress of this machine, or None without slirp4netns or the tun device."""
        slirp4netns = shutil.which("slirp4netns")
        if slirp4netns is None:
            return None
        if not os.access(_TUN, os.R_OK | os.W_OK):
            log.warning("%s is closed to this user: slirp4netns cannot make a way out", _TUN)
            return None
        return cls(slirp4netns, allowed)

    @property
    def description(self) -> str:
        opened = ", ".join(str(network) for network in self.allowed)
        return "the internet through slirp4netns (no host, loopback or private address" + (
            f" but {opened})" if opened else ")"
        )

    async def attach(self, pid: int, ns: Netns, *, user_namespace: bool) -> Uplink:
        """Give the network namespace `ns` of process `pid` its way out, closed as described."""
        # a server that is not root acts in the user namespace that owns the network
        owner = network_owner(pid) if user_namespace else None
        try:
            return await self._attach(pid, ns, owner)
        finally:
            if owner is not None:
                os.close(owner)

    async def _attach(self, pid: int, ns: Netns, owner: int | None) -> Uplink:
        ready_read, ready_write = os.pipe2(os.O_CLOEXEC)
        exit_read, exit_write = os.pipe2(os.O_CLOEXEC)
        userns = [f"--userns-path=/proc/self/fd/{owner}"] if owner is not None else []
        # its own sandbox takes root (real, or of the user namespace: bubblewrap maps the
        # server's user to itself there), so a server of another user runs it without
        sandboxed = ["--enable-sandbox", "--enable-seccomp"] if owner is None else []
        try:
            # Popen vforks; the loop's subprocess (uvloop's) forks the whole server, which
            # took ten times as long (2.7 ms against 0.27 at 80 MB)
            process = subprocess.Popen(  # noqa: ASYNC220 - as short as the loop's own spawn
                [
                    self.slirp4netns,
                    "--configure",
                    "--mtu=65520",
                    "--disable-host-loopback",
                    *sandboxed,
                    f"--ready-fd={ready_write}",
                    f"--exit-fd={exit_read}",
                    *userns,
                    str(pid),
                    _DEVICE,
                ],
                pass_fds=(ready_write, exit_read, *([owner] if owner is not None else [])),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except BaseException:
            for fd in (ready_read, exit_write):
                os.close(fd)
            raise
        finally:
            os.close(ready_write)
            os.close(exit_read)
        uplink = Uplink(process, exit_write)
        try:
            await asyncio.wait_for(readable(ready_read), _READY_SECONDS)
            if not os.read(ready_read, 1):
                raise OSError(f"slirp4netns exited: {await _stderr(process)}")
            await self._close_routes(ns)
            uplink.said = asyncio.create_task(_log_what_it_says(process))
        except BaseException:
            await uplink.close()
            raise
        finally:
            os.close(ready_read)
        return uplink

    async def _close_routes(self, ns: Netns) -> None:
        # over a netlink socket made in the namespace: no nsenter and ip to start
        link = await ns.socket(socket.AF_NETLINK, socket.SOCK_RAW)  # protocol 0: NETLINK_ROUTE
        with link:
            try:
                await add_routes(link, self._routes)
            except OSError as exc:
                raise OSError(f"the routes of a function's network: {exc}") from exc


async def _said(process: subprocess.Popen[bytes]) -> AsyncIterator[bytes]:
    """What `process` writes to its stderr, read on the loop, until it closes it."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    while True:
        await readable(fd)
        if not (chunk := os.read(fd, 4096)):
            return
        yield chunk


#: what slirp4netns says at every start (its two processes handing over the tap device)
_ROUTINE = ("sent tapfd=", "received tapfd=")


async def _log_what_it_says(process: subprocess.Popen[bytes]) -> None:
    async for chunk in _said(process):
        for line in chunk.decode(errors="replace").splitlines():
            level = logging.DEBUG if line.startswith(_ROUTINE) else logging.WARNING
            log.log(level, "slirp4netns %s: %s", process.pid, line)


async def _stderr(process: subprocess.Popen[bytes]) -> str:
    said = b""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2):
            async for chunk in _said(process):
                said += chunk
    return said.decode(errors="replace").strip() or "(nothing said)"
