"""The settings whose values are lists, and their parsers. config.py checks each value at
start by the parser that the part reading it uses (runtime/interpreters.py,
sandbox/egress.py, notify/destinations.py), so both live here, below them all."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

#: what a host name in SLUICE_CALLBACK_ALLOW may look like
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_][a-z0-9_-]{0,62})*$")

#: the families Sluice has runners of its own for; any other is served by an actionloop runner
NODEJS = "nodejs"
PYTHON = "python"
GO = "go"
#: a versioned kind's name in SLUICE_RUNTIMES
_KIND = re.compile(r"^([a-z][a-z0-9]*):(\d+(?:\.\d+)*)$")


class BadRuntimes(ValueError):
    """SLUICE_RUNTIMES is not a list of KIND=INTERPRETER [RUNNER] entries."""


def parse_runtimes(text: str) -> dict[str, tuple[str, str | None]]:
    """SLUICE_RUNTIMES: `KIND=INTERPRETER [RUNNER]` entries separated by `;` or new lines,
    e.g. `nodejs:22=/opt/node22/bin/node; ruby:3.1=/usr/bin/ruby /opt/runners/ruby.rb`."""
    out: dict[str, tuple[str, str | None]] = {}
    for entry in re.split(r"[;\n]", text):
        entry = entry.strip()
        if not entry:
            continue
        kind, equals, command = entry.partition("=")
        kind = kind.strip()
        if not equals or not _KIND.match(kind):
            raise BadRuntimes(
                f"SLUICE_RUNTIMES entry {entry!r} is not KIND=INTERPRETER [RUNNER]"
                " with KIND like nodejs:22"
            )
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise BadRuntimes(f"SLUICE_RUNTIMES entry {entry!r}: {exc}") from None
        if not 1 <= len(words) <= 2:
            raise BadRuntimes(
                f"SLUICE_RUNTIMES entry {entry!r} must name an interpreter and at most a runner"
            )
        if len(words) == 1 and kind.partition(":")[0] not in (NODEJS, PYTHON, GO):
            raise BadRuntimes(
                f"SLUICE_RUNTIMES entry {entry!r}: a {kind.partition(':')[0]} kind needs a"
                " runner after its interpreter (an actionloop runner, see docs/runtimes.md)"
            )
        out[kind] = (words[0], words[1] if len(words) == 2 else None)
    return out


def parse_allowed(value: str) -> tuple[IPv4Network, ...]:
    """`SLUICE_FUNCTION_EGRESS_ALLOW`: IPv4 networks or addresses, comma-separated."""
    allowed: list[IPv4Network] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            network = ip_network(item, strict=False)
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IPv4 network or address") from exc
        if not isinstance(network, IPv4Network):
            raise ValueError(f"{item!r}: functions have no IPv6 way out")
        allowed.append(network)
    return tuple(allowed)


@dataclass(frozen=True, slots=True)
class Allowed:
    """SLUICE_CALLBACK_ALLOW: networks and host names callbacks may go to although
    their addresses would be refused."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Allowed:
        """`10.0.0.0/8,127.0.0.1,hooks.internal`: ValueError for an entry that is neither
        a network nor a host name."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in (e.strip() for e in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not _HOST_NAME.match(name):
                raise ValueError(f"'{entry}' is neither a CIDR, an IP address nor a host name")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def address(self, ip: Address) -> bool:
        candidates = [ip]
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            c in net for c in candidates for net in self.networks if net.version == c.version
        )

    def host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts


def server_address(text: str) -> tuple[str, int]:
    """`IP`, `IP:PORT`, `[IPv6]:PORT`: the DNS server's address (ValueError if not one)."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        port = int(number)
    return str(ip_address(host)), port
