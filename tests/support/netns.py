"""Network namespaces for fault tests: a Sluice host in a namespace of its own, joined to
this machine by a veth pair, whose link the test cuts and restores; and a TCP relay that
makes a service on 127.0.0.1 (PostgreSQL) reachable from it on the veth address only."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from contextlib import suppress

_RELAY_CHUNK = 65536


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def netns_unavailable() -> str | None:
    """None when this process may make network namespaces (root and iproute2); else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    return None


class Netns:
    """`name`, with `inner` inside and `outer` on this machine's end of the veth pair."""

    def __init__(self, index: int) -> None:
        tag = f"{os.getpid() % 100000}x{index}"
        self.name = f"sl{tag}"
        self.link = f"vs{tag}"
        subnet = 16 + (os.getpid() % 200)
        self.outer = f"10.{subnet}.{index}.1"
        self.inner = f"10.{subnet}.{index}.2"

    @property
    def wrapper(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def create(self) -> Netns:
        _ip("netns", "add", self.name)
        _ip("link", "add", self.link, "type", "veth", "peer", "name", f"{self.link}p")
        _ip("link", "set", f"{self.link}p", "netns", self.name)
        _ip("addr", "add", f"{self.outer}/24", "dev", self.link)
        _ip("link", "set", self.link, "up")
        _ip("-n", self.name, "addr", "add", f"{self.inner}/24", "dev", f"{self.link}p")
        _ip("-n", self.name, "link", "set", f"{self.link}p", "up")
        _ip("-n", self.name, "link", "set", "lo", "up")
        return self

    def cut(self) -> None:
        """The host drops off the network (its processes live on, unaware)."""
        _ip("link", "set", self.link, "down")

    def restore(self) -> None:
        _ip("link", "set", self.link, "up")

    def kill_all(self) -> int:
        """SIGKILL every process in the namespace (a host's sudden death); how many.

        All of them stop first, then die: killed one by one, a worker could see its
        function processes die before it does and report that as their calls' outcome,
        which a host that loses its power never does."""
        stopped: set[int] = set()
        while fresh := set(self.pids()) - stopped:  # until nothing new was forked meanwhile
            for pid in fresh:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            stopped |= fresh
        for pid in stopped:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(stopped)

    def pids(self) -> list[int]:
        listed = subprocess.run(
            ["ip", "netns", "pids", self.name], check=True, capture_output=True, text=True
        )
        return [int(pid) for pid in listed.stdout.split()]

    def delete(self) -> None:
        with suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.link)
        with suppress(subprocess.CalledProcessError):
            _ip("netns", "del", self.name)


class Relay:
    """Accepts on (address, port) and relays each connection to (target_host, target_port)."""

    def __init__(self, address: str, target_host: str, target_port: int) -> None:
        self.listener = socket.create_server((address, 0))
        self.port = int(self.listener.getsockname()[1])
        self.target = (target_host, target_port)
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(_RELAY_CHUNK):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            with suppress(OSError):
                sock.close()
