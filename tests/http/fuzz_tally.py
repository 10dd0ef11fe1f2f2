"""The fuzzer's counts, kept for the run's summary (tests/http/conftest.py prints them)."""

from __future__ import annotations

from collections import Counter

#: "requests", "status 2xx".., "resets", "server 5xx", "function 5xx relayed"...
TALLY: Counter[str] = Counter()


def summary() -> str:
    if not TALLY:
        return ""
    statuses = ", ".join(
        f"{k[7:]}: {v}" for k, v in sorted(TALLY.items()) if k.startswith("status ")
    )
    return (
        f"fuzz: {TALLY['requests']} requests ({TALLY['raw requests']} raw), "
        f"{TALLY['server 5xx']} answered 5xx, {TALLY['resets']} connection resets or no answer, "
        f"{TALLY['function 5xx']} function outcomes relayed as 5xx; by status: {statuses}"
    )
