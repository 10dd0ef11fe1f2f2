"""Where a callback may go, checked twice: when a call is accepted with it (a refused URL is
a 400 then) and again when it is sent, whose answer is what the request connects to.

Only public unicast addresses are callback destinations by default: loopback, link-local
(the cloud metadata service at 169.254.169.254 and fd00:ec2::254 among them), private,
shared (CGNAT), unique-local, multicast, broadcast, unspecified and reserved ranges are
refused, and so is an IPv6 address that embeds a refused IPv4 one (IPv4-mapped, 6to4,
Teredo, NAT64). `SLUICE_CALLBACK_ALLOW` lets chosen networks (CIDRs) and host names through.

A host name is resolved at both checks and refused if any of its addresses is; the request
is then made to the address just checked (the name kept in the Host header and as the TLS
server name), so a name that resolves to another address between the check and the
connection (DNS rebinding) cannot lead the request elsewhere.

Sluice's own function routes (`/function/NAME`, `/async-function/NAME` on its API host, or
its host and port) are a destination of their own, whatever their address: a callback may
call another function.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv6Address,
    ip_address,
    ip_network,
)
from typing import Any

import dns.asyncresolver
import dns.exception
import httpx

from sluice.config import Settings
from sluice.config_lists import Address, Allowed, server_address

#: NAT64's well-known prefix: the last 32 bits are the IPv4 address it reaches
_NAT64 = ip_network("64:ff9b::/96")
#: ranges Python's is_global does not call private: NAT64 for local use, site-local
_ALSO_REFUSED = (ip_network("64:ff9b:1::/48"), ip_network("fec0::/10"))
#: Sluice's routes that a callback may call on its own API
_OWN_ROUTES = ("/function/", "/async-function/")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: the longest a callback host's resolution may take
_RESOLVE_SECONDS = 5.0


class Undeliverable(Exception):
    """A callback URL that cannot be sent to: the message says why."""


class Refused(Undeliverable):
    """The URL's host is, or resolves to, an address callbacks may not go to."""


class Unresolved(Undeliverable):
    """The URL's host name has no address (or the resolver did not answer)."""


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: Address) -> str | None:
    """What kind of address `ip` is when callbacks may not go to it by default; None for
    an ordinary public unicast address."""
    if isinstance(ip, IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and (why := refusal(inner)) is not None:
            return f"{why} ({inner} in IPv6 form)"
    kinds = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "the unspecified address"),
    )
    for matches, kind in kinds:
        if matches:
            return kind
    if (
        ip.is_private
        or ip.is_reserved
        or not ip.is_global
        or any(ip in net for net in _ALSO_REFUSED if net.version == ip.version)
    ):
        return "a private or reserved address"
    return None


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme, 0)


def own_origins(settings: Settings) -> frozenset[tuple[str, str, int]]:
    """Where Sluice's own API is reached: its API host, its host and port, and (listening on
    loopback or on every address) loopback at its port."""
    origins = {_origin(httpx.URL(settings.resolved_api_host()))}
    host = settings.host.strip("[]")
    every = host in ("", "0.0.0.0", "::")
    if not every:
        origins.add(("http", host.lower(), settings.port))
    try:
        local = every or ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if local:
        origins |= {("http", h, settings.port) for h in ("127.0.0.1", "::1", "localhost")}
    return frozenset(origins)


def _own_route(path: str) -> bool:
    if not path.startswith(_OWN_ROUTES):
        return False
    segments = path.split("/")
    # a dot segment could climb out of the function routes to the rest of the API
    return segments[2] != "" and not any(s in (".", "..") for s in segments)


@dataclass(frozen=True, slots=True)
class Route:
    """How one delivery is sent: to `url` (a checked address in place of a host name) with
    `headers` (the name as Host) and `extensions` (the name for TLS) added."""

    url: httpx.URL
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


class Resolver:
    """A host name's addresses: from the system's resolver (getaddrinfo), or from the DNS
    server SLUICE_CALLBACK_RESOLVER names (`IP` or `IP:PORT`)."""

    def __init__(self, server: str = "") -> None:
        self._dns: dns.asyncresolver.Resolver | None = None
        if server:
            host, port = server_address(server)
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [host]
            resolver.port = port
            resolver.lifetime = _RESOLVE_SECONDS
            self._dns = resolver

    async def addresses(self, host: str, port: int) -> list[Address]:
        try:
            if self._dns is not None:
                answer = await self._dns.resolve_name(host)
                found = list(answer.addresses())
            else:
                infos = await asyncio.wait_for(
                    asyncio.get_running_loop().getaddrinfo(
                        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                    ),
                    _RESOLVE_SECONDS,
                )
                found = [str(info[4][0]) for info in infos]
        except (OSError, TimeoutError, dns.exception.DNSException) as exc:
            raise Unresolved(f"its host '{host}' cannot be resolved ({exc})") from exc
        addresses = list(dict.fromkeys(ip_address(a) for a in found))
        if not addresses:
            raise Unresolved(f"its host '{host}' has no address")
        return addresses


class Destinations:
    """The callback policy: `check` at submit, `route` at send."""

    def __init__(self, settings: Settings, resolver: Resolver | None = None) -> None:
        self.allowed = Allowed.parse(settings.callback_allow)
        self.own = own_origins(settings)
        self.resolver = resolver or Resolver(settings.callback_resolver)

    def is_own_api(self, url: httpx.URL) -> bool:
        return _origin(url) in self.own and _own_route(url.path)

    async def check(self, text: str) -> None:
        """Undeliverable when a callback may not go to `text`."""
        await self.route(text)

    async def route(self, text: str) -> Route:
        """How to send to `text` now, or Undeliverable."""
        url = httpx.URL(text)
        if self.is_own_api(url) or self.allowed.host(url.host):
            return Route(url)
        try:
            literal: Address | None = ip_address(url.host)
        except ValueError:
            literal = None
        if literal is not None:
            self._check(literal, str(literal))
            return Route(url)
        scheme, host, port = _origin(url)
        addresses = await self.resolver.addresses(host, port)
        for ip in addresses:
            self._check(ip, f"its host '{host}' ({ip})")
        pinned = url.copy_with(host=str(addresses[0]))
        extensions = {"sni_hostname": url.host} if scheme == "https" else {}
        return Route(pinned, {"Host": url.netloc.decode("ascii")}, extensions)

    def _check(self, ip: Address, what: str) -> None:
        if self.allowed.address(ip):
            return
        why = refusal(ip)
        if why is not None:
            raise Refused(
                f"{what} is {why}; callbacks go to public addresses, or to those"
                " SLUICE_CALLBACK_ALLOW lists"
            )
