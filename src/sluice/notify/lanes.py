"""One lane of callback deliveries per destination (scheme, host, port), so that a receiver
that stalls holds only its own lane: at most `per_destination` of its deliveries are sent at
once, as many again for each turn in `WAITING_TURNS` wait for a slot in memory, and the rest
go back to the queue for about as long as the lane needs to clear (`put_back_ms`). Each lane
has its own connections: a pooled TLS connection, made for one host name, is never reused for
another name that resolves to the same address."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

Key = tuple[str, str, int]

#: rounds of `per_destination` deliveries a lane keeps waiting in memory beyond those sent
WAITING_TURNS = 2
#: a lane without deliveries is closed (its connections with it) after this
IDLE_SECONDS = 30.0
#: the shortest a callback put back for a busy lane stays back
PUT_BACK_MIN_SECONDS = 0.05
#: weight of the latest delivery in a lane's running mean of how long one takes
_RECENT = 0.2
_DEFAULT_PORTS = {"http": 80, "https": 443}


def destination(url: str) -> Key:
    """The lane of a callback URL: its scheme, host (as written, lowercased) and port."""
    parsed = httpx.URL(url)
    host = parsed.host.lower().rstrip(".")
    return parsed.scheme, host, parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)


@dataclass(eq=False)
class Lane:
    key: Key
    client: httpx.AsyncClient
    slots: int
    #: deliveries admitted and not yet done: being sent, or waiting for a slot
    held: int = 0
    #: when each delivery being sent started (monotonic seconds)
    sending: dict[object, float] = field(default_factory=dict)
    #: a running mean of how long one delivery took
    seconds: float = 0.0
    idle_since: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._room = asyncio.Semaphore(self.slots)

    @property
    def full(self) -> bool:
        return self.held >= self.slots * (1 + WAITING_TURNS)

    def clear_in(self, timeout: float) -> float:
        """About how long the deliveries it holds take to go: as many rounds as it holds,
        each as long as a delivery takes (or has been taking), `timeout` at most."""
        now = time.monotonic()
        oldest = max((now - start for start in self.sending.values()), default=0.0)
        each = max(self.seconds, oldest)
        return min(timeout, max(PUT_BACK_MIN_SECONDS, each * self.held / self.slots))

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a slot, then hold it while the delivery is sent (once admitted)."""
        try:
            async with self._room:
                token = object()
                start = self.sending[token] = time.monotonic()
                try:
                    yield
                finally:
                    del self.sending[token]
                    took = time.monotonic() - start
                    mean = (1 - _RECENT) * self.seconds + _RECENT * took
                    self.seconds = mean if self.seconds else took
        finally:
            self.held -= 1
            if self.held == 0:
                self.idle_since = time.monotonic()


class Lanes:
    def __init__(self, per_destination: int, timeout: float) -> None:
        self.per_destination = per_destination
        self.timeout = timeout
        self._lanes: dict[Key, Lane] = {}
        #: one TLS context (loading the CA bundle is slow) shared by every lane's client,
        #: made with the first (a process that sends no callback never loads it)
        self._tls: ssl.SSLContext | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        n = self.per_destination
        return httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            verify=self._tls,
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
        )

    def admit(self, url: str) -> Lane | None:
        """The lane a delivery to `url` goes in, counted as held; None when it is full."""
        key = destination(url)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(key, self._client(), self.per_destination)
        if lane.full:
            return None
        lane.held += 1
        return lane

    def put_back_ms(self, url: str) -> int:
        """How long a delivery that found its lane full stays in the queue."""
        lane = self._lanes.get(destination(url))
        seconds = lane.clear_in(self.timeout) if lane is not None else PUT_BACK_MIN_SECONDS
        return int(seconds * 1000)

    async def sweep(self) -> None:
        """Close the lanes idle for IDLE_SECONDS."""
        now = time.monotonic()
        idle = [
            key
            for key, lane in self._lanes.items()
            if lane.held == 0 and now - lane.idle_since > IDLE_SECONDS
        ]
        for key in idle:
            await self._lanes.pop(key).client.aclose()

    async def close(self) -> None:
        lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            await lane.client.aclose()
