"""Smoke test of the bench's HTTP client and open-loop generator against a tiny local server.

Counts only: the bench prints timings, tests never assert on them.
"""

from __future__ import annotations

import asyncio

from bench.loadgen import HttpClient, OpenLoop, build_request, closed_loop
from bench.stats import percentile, summary_ms


class _Server(asyncio.Protocol):
    """Answers every request (no body expected beyond Content-Length 2) with 202 and a body."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 2 if head.startswith(b"POST") else 0
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            body = b'{"activationId":"abc"}'
            self.transport.write(  # type: ignore[attr-defined]
                b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )


class _OneShotServer(_Server):
    """Answers the first request of each connection, then drops the connection when the next
    one arrives, unread: a server closing an idle kept-alive connection as it is reused."""

    def data_received(self, data: bytes) -> None:
        if getattr(self, "answered", False):
            self.transport.close()
            return
        self.answered = True
        super().data_received(data)


async def _run_one_shot() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_OneShotServer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        request = build_request("POST", "/x", "127.0.0.1", port, b"{}")
        result = await OpenLoop("127.0.0.1", port, request, rate=100, seconds=0.3).run()
        assert result.ok == result.planned == 30
        assert result.errors == {}
        assert result.retried > 0
    finally:
        server.close()
        await server.wait_closed()


def test_a_request_on_a_connection_closed_while_idle_is_sent_again() -> None:
    asyncio.run(_run_one_shot())


async def _run() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        request = build_request("POST", "/x", "127.0.0.1", port, b"{}")
        result = await OpenLoop("127.0.0.1", port, request, rate=200, seconds=0.5).run()
        assert result.planned == 100
        assert result.sent == 100
        assert result.ok == 100, result.errors
        assert result.errors == {}
        assert len(result.latencies) == len(result.lag) == 100
        assert result.connections >= 1
        assert result.last_body == b'{"activationId":"abc"}'

        closed = await closed_loop("127.0.0.1", port, request, concurrency=4, seconds=0.2)
        assert closed.ok > 0
        assert closed.errors == {}
        assert len(closed.latencies) == closed.ok

        client = HttpClient("127.0.0.1", port)
        for _ in range(3):
            response = await client.request("GET", "/")
            assert response.status == 202
            assert response.headers["content-type"] == "application/json"
        client.close()
    finally:
        server.close()
        await server.wait_closed()


def test_open_loop_sends_every_request_and_counts_every_answer() -> None:
    asyncio.run(_run())


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert summary_ms([0.001, 0.002])["max"] == 2.0
    assert summary_ms([]) == {"n": 0}
