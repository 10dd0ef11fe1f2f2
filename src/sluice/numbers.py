"""Numbers from input, read strictly: only ASCII digits make an integer (Python's int()
also takes `٣`, ` 7`, `+3` and `1_000`, and str.isdigit() passes `²`, which int() then
refuses), and none past what the store's INTEGER columns hold (SQLite and PostgreSQL's
BIGINT: a signed 64-bit integer). A value past that is the caller's error, a 400, never
an OverflowError from the driver."""

from __future__ import annotations

import math
import re

#: the largest integer SQLite and PostgreSQL's BIGINT store
INT64_MAX = 2**63 - 1
_WHOLE = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def whole_number(text: str) -> int | None:
    """`text` as a non-negative integer when it is ASCII digits only; else None."""
    return int(text) if _WHOLE.fullmatch(text) else None


def signed_integer(text: str) -> int | None:
    """`text` as an integer when it is ASCII digits with an optional leading `-`."""
    return int(text) if _SIGNED.fullmatch(text) else None


def decimal(text: str) -> float | None:
    """`text` as a finite non-negative number when it is ASCII digits with an optional
    fraction (`12`, `1.5`); else None (so never inf or nan)."""
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def storable(value: float) -> bool:
    """Whether `value` (a count of milliseconds, an id, a limit) fits an INTEGER column."""
    return math.isfinite(value) and -INT64_MAX - 1 <= value <= INT64_MAX
