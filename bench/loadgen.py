"""A small HTTP/1.1 client and an open-loop load generator (asyncio, keep-alive, httptools).

Open loop: request i is due at `t0 + i / rate`, whatever became of the requests before it.
Its latency runs from that due time to the end of its response, so a server that stalls is
charged for every request it held up (no coordinated omission). The generator's own
lateness (dispatch time - due time) is kept apart as `lag`: it is the error bar of the
figures. Pacing comes from a Linux timerfd armed at absolute due times (microsecond wake-ups;
asyncio's own timers have a 1 ms grain), with a plain `asyncio.sleep` pacer elsewhere.

Requests go over keep-alive connections, one in flight per connection: an idle connection
is reused (most recently used first), and a new one is opened when all are busy, up to a cap
beyond which requests wait in a backlog (still charged from their due time).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

import httptools

now = time.monotonic  # CLOCK_MONOTONIC, nanosecond grain on Linux: the timerfd's clock


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    #: seconds from writing the request to the end of the response
    elapsed: float


def build_request(
    method: str,
    path: str,
    host: str,
    port: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(
        self,
        on_response: Callable[[_Connection, int, dict[str, str], bytes, float], None],
        on_lost: Callable[[_Connection, bool], None],
        keep_headers: bool = False,
    ) -> None:
        self._on_response = on_response
        self._on_lost = on_lost
        self._keep_headers = keep_headers
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._headers: dict[str, str] = {}
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.busy = False
        self.closed = False
        self.sent_at = 0.0
        #: responses received on this connection
        self.served = 0
        #: whatever the owner attached to the request in flight
        self.token: object = None

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if not self.ready.done():
            self.ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("connection lost"))
        self._on_lost(self, self.busy)
        self.busy = False

    # httptools callbacks ----------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        if self._keep_headers:
            self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        done = now()
        status = self._parser.get_status_code()
        body = b"".join(self._body)
        headers = self._headers
        self._body = []
        self._headers = {}
        keep_alive = self._parser.should_keep_alive()
        self.busy = False
        self.served += 1
        self._on_response(self, status, headers, body, done - self.sent_at)
        if not keep_alive:
            self.close()

    # use --------------------------------------------------------------------------------
    def send(self, request: bytes, token: object = None) -> None:
        assert self.transport is not None
        assert not self.busy
        self.busy = True
        self.token = token
        self.sent_at = now()
        self.transport.write(request)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()


class HttpClient:
    """Sequential requests over one keep-alive connection (reopened when the server drops it)."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.headers = dict(headers or {})
        self._conn: _Connection | None = None
        self._waiter: asyncio.Future[Response] | None = None

    def _response(
        self, conn: _Connection, status: int, headers: dict[str, str], body: bytes, took: float
    ) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(Response(status, headers, body, took))

    def _lost(self, conn: _Connection, busy: bool) -> None:
        if busy and self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection closed mid-request"))

    async def _connection(self) -> _Connection:
        if self._conn is None or self._conn.closed:
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(
                lambda: _Connection(self._response, self._lost, keep_headers=True),
                self.host,
                self.port,
            )
            self._conn = conn
        return self._conn

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        time_limit: float = 90.0,
    ) -> Response:
        """One request; sent again once on a new connection if the server had closed the
        idle one before reading it (it was then never processed)."""
        reused = self._conn is not None and not self._conn.closed
        try:
            return await self._once(method, path, body, headers, time_limit)
        except ConnectionError:
            if not reused:
                raise
            return await self._once(method, path, body, headers, time_limit)

    async def _once(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str] | None,
        time_limit: float,
    ) -> Response:
        conn = await self._connection()
        all_headers = {**self.headers, **(headers or {})}
        raw = build_request(method, path, self.host, self.port, body, all_headers)
        self._waiter = asyncio.get_running_loop().create_future()
        conn.send(raw)
        try:
            return await asyncio.wait_for(self._waiter, time_limit)
        except TimeoutError:
            conn.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


# The pacer ------------------------------------------------------------------------------


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1


def _timespec(seconds: float) -> _Timespec:
    ns = round(seconds * 1e9)
    return _Timespec(ns // 1_000_000_000, ns % 1_000_000_000)


def open_timerfd(first: float, period: float) -> int | None:
    """A non-blocking timerfd that ticks at `first` (a `now()` time) then every `period` s."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        create = libc.timerfd_create
        settime = libc.timerfd_settime
    except (OSError, AttributeError):
        return None
    fd = int(create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC))
    if fd < 0:
        return None
    spec = _Itimerspec(_timespec(period), _timespec(first))
    if settime(fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
        os.close(fd)
        return None
    return fd


# Open loop -------------------------------------------------------------------------------


@dataclass
class LoadResult:
    rate: float
    seconds: float
    planned: int
    #: requests written (a request still in the backlog at the deadline was never written)
    sent: int = 0
    #: answered with the expected status
    ok: int = 0
    #: everything else: "HTTP 503", "closed", "connect", "timeout"
    errors: dict[str, int] = field(default_factory=dict)
    #: seconds from due time to the end of the response, for `ok` requests
    latencies: list[float] = field(default_factory=list)
    #: seconds from writing to the end of the response (the server's share), for `ok` ones
    service: list[float] = field(default_factory=list)
    #: seconds from due time to dispatch: the generator's own lateness
    lag: list[float] = field(default_factory=list)
    connections: int = 0
    #: requests sent again because the server closed an idle kept-alive connection under them
    retried: int = 0
    max_in_flight: int = 0
    #: seconds from the first due time to the last response
    wall: float = 0.0
    #: body of the ok response to the request due last
    last_body: bytes = b""
    pacer: str = ""
    #: `now()` times: the first request's due time, the first and the last dispatch
    t0: float = 0.0
    first_sent: float = 0.0
    last_sent: float = 0.0

    @property
    def achieved_rate(self) -> float:
        """Requests per second actually dispatched."""
        span = self.last_sent - self.first_sent
        return (self.sent - 1) / span if span > 0 and self.sent > 1 else 0.0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class OpenLoop:
    """Fires `rate * seconds` copies of one request at fixed due times over pooled connections."""

    def __init__(
        self,
        host: str,
        port: int,
        request: bytes,
        rate: float,
        seconds: float,
        expect: int = 202,
        max_connections: int = 512,
        grace: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.request = request
        self.rate = rate
        self.expect = expect
        self.max_connections = max_connections
        self.grace = grace
        self.result = LoadResult(rate, seconds, max(int(rate * seconds), 1))
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._backlog: deque[int] = deque()
        self._connecting: set[asyncio.Future[None]] = set()
        self._retried: set[int] = set()
        self._in_flight = 0
        self._next = 0
        self._t0 = 0.0
        self._last_ok = -1
        self._finished: asyncio.Future[None] | None = None

    def due(self, i: int) -> float:
        return self._t0 + i / self.rate

    # completion -------------------------------------------------------------------------
    def _response(
        self, conn: _Connection, status: int, headers: dict[str, str], body: bytes, took: float
    ) -> None:
        i = conn.token
        assert isinstance(i, int)
        r = self.result
        if status == self.expect:
            r.ok += 1
            r.latencies.append(now() - self.due(i))
            r.service.append(took)
            if i > self._last_ok:
                self._last_ok = i
                r.last_body = body
        else:
            r.error(f"HTTP {status}")
        self._done_one()
        if not conn.closed:
            if self._backlog:
                self._write(conn, self._backlog.popleft())
            else:
                self._idle.append(conn)

    def _lost(self, conn: _Connection, busy: bool) -> None:
        self._all.discard(conn)
        with contextlib.suppress(ValueError):
            self._idle.remove(conn)
        if not busy:
            return
        i = conn.token
        assert isinstance(i, int)
        self._in_flight -= 1
        if conn.served and i not in self._retried:
            # the server closed a kept-alive connection as we reused it: it never read the
            # request, so send it again (still charged from its due time), on a new
            # connection: another idle one may be closed under it just the same
            self._retried.add(i)
            self.result.retried += 1
            self._dispatch(i, fresh=True)
        else:
            self.result.error("closed")
            self._check_finished()

    def _done_one(self) -> None:
        self._in_flight -= 1
        self._check_finished()

    def _check_finished(self) -> None:
        planned = self.result.planned
        idle = self._next >= planned and self._in_flight == 0 and not self._backlog
        if idle and self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    # dispatch ---------------------------------------------------------------------------
    def _write(self, conn: _Connection, i: int) -> None:
        self._in_flight += 1
        self.result.max_in_flight = max(self.result.max_in_flight, self._in_flight)
        conn.send(self.request, i)

    def _dispatch(self, i: int, fresh: bool = False) -> None:
        if self._idle and not fresh:
            self._write(self._idle.pop(), i)
        elif len(self._all) + len(self._connecting) < self.max_connections:
            task = asyncio.ensure_future(self._connect_and_write(i))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)
        else:
            self._backlog.append(i)

    async def _connect_and_write(self, i: int) -> None:
        loop = asyncio.get_running_loop()
        self._in_flight += 1  # counted while connecting, so the run cannot end under it
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self._response, self._lost), self.host, self.port
            )
        except OSError:
            self.result.error("connect")
            self._done_one()
            return
        self._in_flight -= 1
        self._all.add(conn)
        self.result.connections += 1
        self._write(conn, i)

    def _tick(self) -> None:
        t = now()
        r = self.result
        first = self._next
        while self._next < r.planned:
            due = self.due(self._next)
            if due > t:
                break
            r.lag.append(t - due)
            self._dispatch(self._next)
            self._next += 1
        if self._next > first:
            if first == 0:
                r.first_sent = t
            r.last_sent = t
            r.sent += self._next - first
        self._check_finished()

    async def _sleep_pacer(self) -> None:
        planned = self.result.planned
        while self._next < planned:
            await asyncio.sleep(max(self.due(self._next) - now(), 0.0))
            self._tick()

    # run --------------------------------------------------------------------------------
    async def run(self) -> LoadResult:
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        self._t0 = now() + 0.05
        self.result.t0 = self._t0
        period = max(1.0 / self.rate, 0.0002)  # above 5,000/s requests go out in small batches
        fd = open_timerfd(self._t0, period)
        task: asyncio.Task[None] | None = None
        if fd is not None:
            self.result.pacer = "timerfd"

            def on_tick() -> None:
                with contextlib.suppress(BlockingIOError):
                    os.read(fd, 8)
                self._tick()

            loop.add_reader(fd, on_tick)
        else:
            self.result.pacer = "asyncio.sleep"
            task = asyncio.ensure_future(self._sleep_pacer())
        deadline = self.result.seconds + self.grace
        try:
            await asyncio.wait_for(asyncio.shield(self._finished), deadline + 0.05)
        except TimeoutError:
            r = self.result
            unsent = r.planned - self._next + len(self._backlog)
            if unsent:
                r.errors["not sent by the deadline"] = unsent
            if self._in_flight:
                r.errors["timeout"] = self._in_flight
        finally:
            if fd is not None:
                loop.remove_reader(fd)
                os.close(fd)
            if task is not None:
                task.cancel()
            self.result.wall = now() - self._t0
            for conn in list(self._all):
                conn.close()
        return self.result


async def open_loop(
    host: str,
    port: int,
    request: bytes,
    rate: float,
    seconds: float,
    expect: int = 202,
    max_connections: int = 512,
) -> LoadResult:
    """Run one open-loop load of `request` at `rate` per second for `seconds` seconds."""
    return await OpenLoop(host, port, request, rate, seconds, expect, max_connections).run()


# Closed loop -----------------------------------------------------------------------------


@dataclass
class ClosedResult:
    concurrency: int
    seconds: float
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    #: seconds from writing each request to the end of its response
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0

    @property
    def throughput(self) -> float:
        return self.ok / self.wall if self.wall else 0.0


async def closed_loop(
    host: str, port: int, request: bytes, concurrency: int, seconds: float, expect: int = 202
) -> ClosedResult:
    """`concurrency` connections, each sending its next request as soon as the last one is
    answered, for `seconds`: the most the server sustains (a ceiling, not a latency figure)."""
    result = ClosedResult(concurrency, seconds)
    loop = asyncio.get_running_loop()
    stop_at = now() + seconds

    async def one_connection() -> None:
        answered: asyncio.Future[int] | None = None

        def on_response(
            conn: _Connection, status: int, headers: dict[str, str], body: bytes, took: float
        ) -> None:
            if status == expect:
                result.latencies.append(took)
            if answered is not None and not answered.done():
                answered.set_result(status)

        def on_lost(conn: _Connection, busy: bool) -> None:
            if answered is not None and not answered.done():
                answered.set_exception(ConnectionError("closed"))

        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(on_response, on_lost), host, port
            )
        except OSError:
            result.errors["connect"] = result.errors.get("connect", 0) + 1
            return
        try:
            while now() < stop_at:
                answered = loop.create_future()
                conn.send(request)
                try:
                    status = await asyncio.wait_for(answered, max(stop_at - now(), 0) + 30)
                except (ConnectionError, TimeoutError) as exc:
                    what = type(exc).__name__
                    result.errors[what] = result.errors.get(what, 0) + 1
                    return
                if status == expect:
                    result.ok += 1
                else:
                    result.errors[f"HTTP {status}"] = result.errors.get(f"HTTP {status}", 0) + 1
        finally:
            conn.close()

    started = now()
    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    result.wall = now() - started
    return result
