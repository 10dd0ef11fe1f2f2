"""The egress network, attacked: a function reaches the internet and Sluice's API, and none of
the host's addresses, loopback services, private networks or the cloud metadata address.

"The internet" is a host of the test's own: a network namespace joined to this machine by a
veth pair, on documentation addresses (198.51.100.0/24) that egress refuses like any range
that is not globally reachable. The server lets one of them through with
SLUICE_FUNCTION_EGRESS_ALLOW, which stands for a public address; its neighbour, not allowed,
stands for a private host of the operator's network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address, ip_address

import pytest

from sluice.config_lists import parse_allowed
from sluice.sandbox.bwrap import bwrap_works
from sluice.sandbox.egress import NOT_GLOBAL, routes
from tests.sandbox.test_hostile import invoke, result_of
from tests.support.server import SluiceServer, free_port, wait_for

BWRAP = shutil.which("bwrap")
TOOLS = all(shutil.which(tool) for tool in ("slirp4netns", "nsenter", "ip"))
needs_host = pytest.mark.skipif(
    os.geteuid() != 0 or BWRAP is None or not bwrap_works(BWRAP) or not TOOLS,
    reason="needs root (a test host of its own), bubblewrap, slirp4netns, nsenter and ip",
)

HOST_SIDE = "198.51.100.1"
#: stands for the internet (allowed), and for a private neighbour (not allowed)
PUBLIC = "198.51.100.2"
PRIVATE = "198.51.100.3"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def peer() -> Iterator[int]:
    """A test host answering "peer" on PUBLIC and PRIVATE, at the port this yields."""
    name = f"sluice-peer-{os.getpid()}"
    host_link, peer_link = f"slh{os.getpid() % 100000}", f"slp{os.getpid() % 100000}"
    _ip("netns", "add", name)
    server: subprocess.Popen[bytes] | None = None
    try:
        _ip("link", "add", host_link, "type", "veth", "peer", "name", peer_link)
        _ip("link", "set", peer_link, "netns", name)
        _ip("addr", "add", f"{HOST_SIDE}/24", "dev", host_link)
        _ip("link", "set", host_link, "up")
        for address in (PUBLIC, PRIVATE):
            _ip("-n", name, "addr", "add", f"{address}/24", "dev", peer_link)
        _ip("-n", name, "link", "set", peer_link, "up")
        port = free_port()
        answer = (
            "import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', {port})); s.listen(16)\n"
            "while True:\n"
            "    c, _ = s.accept(); c.sendall(b'peer'); c.close()\n"
        )
        server = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", answer])
        wait_for(lambda: _answers(PUBLIC, port), 10, "the test host")
        yield port
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", host_link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as conn:
            return conn.recv(4) == b"peer"
    except OSError:
        return False


@pytest.fixture(scope="module")
def host_listener() -> Iterator[int]:
    """A service of the host's on every address (as many daemons are), on this port."""
    with socket.create_server(("0.0.0.0", 0)) as listener:
        yield int(listener.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, peer: int, host_listener: int
) -> Iterator[SluiceServer]:
    # started after the test host, so the host's address on its link is one of the host's own
    instance = SluiceServer(
        tmp_path_factory.mktemp("egress"),
        extra_env={"SLUICE_FUNCTION_EGRESS_ALLOW": f"{PUBLIC}/32"},
    )
    try:
        yield instance.start()
    finally:
        instance.close()


PY_REACH = """
import errno, os, socket, urllib.request

def reach(host, port):
    try:
        with socket.create_connection((host, port), timeout=3) as conn:
            return "ok:" + conn.recv(4).decode()
    except socket.timeout:
        return "timeout"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc))

def main(args):
    return {
        "targets": {f"{h}:{p}": reach(h, p) for h, p in args["targets"]},
        "api": urllib.request.urlopen(os.environ["__OW_API_HOST"] + "/api/v1", timeout=5).status,
        "resolv": open("/etc/resolv.conf").read(),
        "v6": reach("::1", args["targets"][0][1]) if socket.has_ipv6 else "none",
    }
"""


def _machine_addresses() -> list[str]:
    """The host's own non-loopback IPv4 addresses (its LAN address among them)."""
    found = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    addresses = [line.split()[3].split("/")[0] for line in found.splitlines()]
    return [a for a in addresses if not ip_address(a).is_loopback]


@needs_host
def test_egress_reaches_the_internet_and_the_api_only(
    server: SluiceServer, peer: int, host_listener: int
) -> None:
    loopback_services = [p for p in (6379, 5432, 4222) if _listening("127.0.0.1", p)]
    targets = [
        (PUBLIC, peer),
        (PRIVATE, peer),
        *[(address, host_listener) for address in _machine_addresses()],
        ("10.0.2.2", host_listener),  # slirp4netns's gateway: the host's loopback, refused
        ("169.254.169.254", 80),
        *[("127.0.0.1", port) for port in loopback_services],
    ]
    record = invoke(server, "reach", PY_REACH, "python:3.11", {"targets": targets})
    result = result_of(record)
    assert record["response"]["success"] is True, result
    reached = result["targets"]
    assert reached.pop(f"{PUBLIC}:{peer}") == "ok:peer"
    for target, outcome in reached.items():
        assert not outcome.startswith("ok"), (target, outcome)
        # refused on the spot, not by waiting for a timeout
        assert outcome in ("EHOSTUNREACH", "ENETUNREACH", "ECONNREFUSED"), (target, outcome)
    assert result["api"] == 200
    assert result["resolv"] == "nameserver 10.0.2.3\n"
    assert result["v6"] in ("ENETUNREACH", "EADDRNOTAVAIL", "ECONNREFUSED", "none")


@needs_host
def test_api_only_and_none_reach_no_internet(server: SluiceServer, peer: int) -> None:
    for network in ("api-only", "none"):
        name = f"reach-{network}"
        with server.client() as client:
            made = client.put(
                server.ns_path(f"actions/{name}"),
                params={"overwrite": "true"},
                json={
                    "exec": {"kind": "python:3.11", "code": PY_REACH},
                    "annotations": [{"key": "network", "value": network}],
                },
            )
            assert made.status_code == 200, made.text
            reply = client.post(
                server.ns_path(f"actions/{name}"),
                params={"blocking": "true", "result": "true"},
                json={"targets": [[PUBLIC, peer]]},
            )
        if network == "api-only":
            assert reply.status_code == 200, reply.text
            assert reply.json()["targets"] == {f"{PUBLIC}:{peer}": "ENETUNREACH"}
        else:  # not even the API: the function fails reading it
            assert reply.status_code == 502, reply.text


@needs_host
def test_the_start_up_log_names_the_way_out(server: SluiceServer) -> None:
    log = server.log_path.read_text()
    assert "the internet through slirp4netns (no host, loopback or private address but " in log


@needs_host
def test_egress_processes_leave_no_slirp4netns_behind(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    instance = SluiceServer(tmp_path_factory.mktemp("egress-stop"))
    instance.start()
    try:
        record = invoke(instance, "once", "def main(args):\n    return {}\n", "python:3.11")
        assert record["response"]["success"] is True
        assert wait_for(lambda: _slirps(instance), 10, "a slirp4netns for the warm process")
    finally:
        instance.close()
    wait_for(lambda: not _slirps(instance), 10, "no slirp4netns left once the server stopped")


def _slirps(instance: SluiceServer) -> list[int]:
    """slirp4netns processes serving this server's sandboxes (its children's children)."""
    assert instance.process is not None
    found = subprocess.run(["pgrep", "-x", "slirp4netns"], capture_output=True, text=True)
    pids = [int(p) for p in found.stdout.split()]
    return [p for p in pids if _descends_from(p, instance.process.pid)]


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def test_routes_close_every_range_that_is_not_global() -> None:
    allowed = parse_allowed("10.1.0.0/16, 192.168.5.7")
    lines = [
        f"route add {route}"
        for route in routes(allowed, [IPv4Address("192.0.2.2"), IPv4Address("203.0.114.9")])
    ]
    for network in NOT_GLOBAL:
        assert not network.network_address.is_global or network.is_multicast
        assert f"route add unreachable {network}" in lines
    # a public address of the host's own is closed too; one inside a closed range needs no route
    assert "route add unreachable 203.0.114.9/32" in lines
    assert "route add unreachable 192.0.2.2/32" not in lines
    assert "route add 10.1.0.0/16 via 10.0.2.2 dev tap0" in lines
    assert "route add 192.168.5.7/32 via 10.0.2.2 dev tap0" in lines
    with pytest.raises(ValueError, match="no IPv6"):
        parse_allowed("fd00::/8")
    with pytest.raises(ValueError, match="not an IPv4 network"):
        parse_allowed("lan")
