"""A real HTTP listener on a free port: it records every request it gets (callbacks) and
answers each with the next status of a script, then 200; and a receiver that never answers
(`Stall`)."""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from tests.support.server import wait_for

#: a server's setting that lets callbacks go to the listeners here, on 127.0.0.1 (loopback
#: is refused by default)
LOOPBACK_CALLBACKS = {"SLUICE_CALLBACK_ALLOW": "127.0.0.1"}


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    #: header names lowercased
    headers: dict[str, str]
    body: bytes


class Listener:
    def __init__(
        self,
        statuses: Iterable[int] = (),
        port: int = 0,
        host: str = "127.0.0.1",
        location: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.statuses = list(statuses)
        #: sent as Location with every answer (a redirect, with a 3xx status)
        self.location = location
        self.received: list[Received] = []
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status = listener._record(
                    Received(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                self.send_response(status)
                if listener.location is not None:
                    self.send_header("Location", listener.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.host = host
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def _record(self, received: Received) -> int:
        with self._lock:
            self.received.append(received)
            return self.statuses.pop(0) if self.statuses else 200

    def wait(self, count: int, timeout: float = 60) -> list[Received]:
        """The first `count` requests, once that many have arrived."""
        wait_for(lambda: len(self.received) >= count, timeout, f"{count} request(s) at {self.url}")
        with self._lock:
            return list(self.received[:count])

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


class Stall:
    """A receiver that accepts connections, reads what it is sent and never answers: it
    counts the connections open at once and those its clients gave up on (closed)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._socket.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._socket, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.opened = 0
        self.closed = 0
        self.most_open = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(0.05):
                if key.fileobj is self._socket:
                    conn, _ = self._socket.accept()
                    conn.setblocking(False)
                    self._selector.register(conn, selectors.EVENT_READ)
                    with self._lock:
                        self.opened += 1
                        self.most_open = max(self.most_open, self.opened - self.closed)
                    continue
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                try:
                    data = conn.recv(65536)
                except ConnectionError:
                    data = b""
                if not data:
                    self._selector.unregister(conn)
                    conn.close()
                    with self._lock:
                        self.closed += 1

    def __enter__(self) -> Stall:
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
        for key in list(self._selector.get_map().values()):
            obj = key.fileobj
            assert isinstance(obj, socket.socket)
            obj.close()
        self._selector.close()
