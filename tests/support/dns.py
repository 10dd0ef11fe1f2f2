"""A tiny real DNS server on loopback (UDP, a free port) for the names tests make up: each
name answers its A queries from a script of address sets, one set per query and the last
one for every query after it, so a test can make a name resolve differently the second
time (DNS rebinding). Point a server at it with SLUICE_CALLBACK_RESOLVER."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from types import TracebackType

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self._scripts: dict[str, list[list[str]]] = {}
        #: the A queries each name was asked, in order
        self.queries: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        """SLUICE_CALLBACK_RESOLVER's value for this server."""
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def answer(self, name: str, *address_sets: Sequence[str]) -> None:
        """`name`'s A answers: the first set for the first query, and so on."""
        with self._lock:
            self._scripts[name.lower().rstrip(".")] = [list(s) for s in address_sets]
            self.queries[name.lower().rstrip(".")] = 0

    def _addresses(self, name: str) -> list[str] | None:
        with self._lock:
            script = self._scripts.get(name)
            if script is None:
                return None
            asked = self.queries[name]
            self.queries[name] = asked + 1
            return script[min(asked, len(script) - 1)]

    def _reply(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        with self._lock:
            known = name in self._scripts
        if not known:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            addresses = self._addresses(name) or []
            if addresses:
                response.answer.append(dns.rrset.from_text(question.name, 0, "IN", "A", *addresses))
        return response.to_wire()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            self._socket.sendto(self._reply(wire), peer)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(10)
        self._socket.close()
