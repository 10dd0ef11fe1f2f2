"""Time as records keep it: wall-clock milliseconds, their RFC 3339 spelling, and the
doubling wait between tries. Every layer reads the clock here (none owns it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sluice.numbers import whole_number


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339_ms(epoch_ms: int) -> str:
    """`2017-10-03T22:31:01.258Z`: UTC, exactly three fractional digits."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def backoff_ms(attempt: int, first_ms: int, max_ms: int, retry_after: str | None) -> int:
    """The wait before try `attempt + 1`: doubling from `first_ms`, capped at `max_ms`; a
    Retry-After (seconds) is honoured within the cap."""
    wait: int = min(first_ms * 2 ** max(attempt - 1, 0), max_ms)
    seconds = whole_number(retry_after.strip()) if retry_after is not None else None
    if seconds is not None:
        wait = max(wait, min(seconds * 1000, max_ms))
    return wait
