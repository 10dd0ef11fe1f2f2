"""Percentiles and number formatting for the figures."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (`p` in 0..100) of `values`; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds of durations given in seconds."""
    if not seconds:
        return {"n": 0}
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": ms[-1],
        "mean": sum(ms) / len(ms),
    }


def fmt_ms(value: float | None) -> str:
    """Milliseconds, with the digits that matter at that size."""
    if value is None or math.isnan(value):
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} us"
    if value < 10:
        return f"{value:.2f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:,.0f} ms"


def fmt_rate(value: float | None, unit: str = "/s") -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"
