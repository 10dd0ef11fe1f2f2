"""Section 1's verdicts: Sluice's accept p99 at 1,000/s is judged against the naive endpoint
measured in the same run (the issue's reference), never against a figure that is missing."""

from __future__ import annotations

import argparse
from typing import Any

from bench.suite.accept import rows
from bench.suite.table import MISS, PASS


def _load(p99: float) -> dict[str, Any]:
    return {
        "achieved_rate": 1000.0,
        "accepted": 10,
        "planned": 10,
        "errors": {},
        "connections": 2,
        "latency_ms": {"p50": p99 / 4, "p99": p99, "max": p99 * 2},
        "cpu": {"machine_busy_pct": 50.0, "not_ours_pct": 1.0},
        "drained_after_s": 0.0,
    }


def _results(sluice_p99: float, naive: dict[str, Any]) -> dict[str, Any]:
    return {
        "naive_FULL": naive,
        "floor_FULL": {"1000": _load(0.4)},
        "floor_NORMAL": {"1000": _load(0.3)},
        "sluice": {"openwhisk_1000": _load(sluice_p99), "openfaas_1000": _load(sluice_p99)},
    }


def _verdicts(results: dict[str, Any]) -> list[str]:
    table = rows(results, argparse.Namespace(rates=[1000.0]))
    return [row.verdict for row in table if row.figure.startswith("Sluice")]


def test_verdict_follows_the_naive_endpoint_and_the_3_ms_cap() -> None:
    # below the naive endpoint's p99 and under 3 ms, though above the bare floor's
    assert _verdicts(_results(1.2, {"1000": _load(4.0)})) == [PASS, PASS]
    # under 3 ms but not below the naive endpoint
    assert _verdicts(_results(1.2, {"1000": _load(1.0)})) == [MISS, MISS]
    # below the naive endpoint but over 3 ms
    assert _verdicts(_results(3.5, {"1000": _load(9.0)})) == [MISS, MISS]


def test_no_verdict_without_the_naive_endpoint() -> None:
    results = _results(1.2, {"skipped": "no peers venv"})
    assert _verdicts(results) == ["", ""]
    table = rows(results, argparse.Namespace(rates=[1000.0]))
    assert table[0].result == "skipped"
    assert table[0].notes == "no peers venv"
