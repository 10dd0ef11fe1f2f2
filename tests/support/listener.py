"""A real HTTP listener on a free port: it records every request it gets (callbacks) and
answers each with the next status of a script, then 200."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from tests.support.server import wait_for


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    #: header names lowercased
    headers: dict[str, str]
    body: bytes


class Listener:
    def __init__(self, statuses: Iterable[int] = (), port: int = 0) -> None:
        self.statuses = list(statuses)
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
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

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
