"""Failed key checks counted per client address, a minute at a time.

Upstream OpenWhisk throttles by subject, which a wrong key has none of; so failures are
counted per address instead, in windows of a minute as upstream's RateThrottler counts.
Past the allowance a wrong key is answered 429 instead of 401, with `Retry-After` the
seconds left in the window. A correct key is never refused: the limit makes a guesser
back off, while every client sharing its address (behind one NAT, or every caller on
loopback, functions included) keeps working with its own key. The keys' 256 random bits,
not the limit, are what makes guessing them hopeless.

The counters live in the process (one event loop, no threads, no timers); the most
addresses kept is bounded, the oldest window dropped first. (The `limits` package's
memory storage runs timer threads for its expiry; one counter per address is all this
needs.)
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sluice.errors import TooManyRequests

WINDOW_SECONDS = 60.0
#: addresses tracked at most; past it the one whose window started first is forgotten
MAX_ADDRESSES = 65_536


@dataclass(slots=True)
class _Window:
    start: float
    count: int


def client_key(host: str | None) -> str:
    """What failures are counted under: the address, or its /64 for IPv6 (one host usually
    holds a whole /64, so counting single addresses would let it rotate through them)."""
    if not host:
        return ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class KeyFailures:
    def __init__(
        self,
        allowed: int,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        #: failures from one address per minute answered 401; 0 counts none
        self.allowed = allowed
        self._clock = clock
        self._max = max_addresses
        self._windows: OrderedDict[str, _Window] = OrderedDict()

    def failed(self, host: str | None) -> None:
        """Count one failed key check from `host`; raises TooManyRequests past the allowance."""
        if self.allowed <= 0:
            return
        key, now = client_key(host), self._clock()
        window = self._windows.get(key)
        if window is None or now - window.start >= WINDOW_SECONDS:
            self._windows.pop(key, None)
            window = self._windows[key] = _Window(now, 0)
            while len(self._windows) > self._max:
                self._windows.popitem(last=False)
        window.count += 1
        if window.count > self.allowed:
            left = WINDOW_SECONDS - (now - window.start)
            raise TooManyRequests(window.count, self.allowed, max(math.ceil(left), 1))
