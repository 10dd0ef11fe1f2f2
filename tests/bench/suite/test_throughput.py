"""Section 2's CPU note: per-call CPU of each party and the rate that would fill the cores."""

from __future__ import annotations

from bench.core import NPROC
from bench.suite.throughput import cpu_per_call


def test_cpu_per_call_splits_and_bounds() -> None:
    cpu = {"server_cpu_s": 4.0, "functions_cpu_s": 1.0, "bench_cpu_s": 5.0}
    note = cpu_per_call(cpu, 10_000)
    assert "server 400 us, functions 100 us, client 500 us" in note
    # 1,000 us of CPU per call in all: the cores are full at NPROC * 1,000 calls/s
    assert f"all cores busy at {NPROC * 1000:,} calls/s" in note


def test_no_calls_no_note() -> None:
    assert cpu_per_call({"server_cpu_s": 1.0, "functions_cpu_s": 0, "bench_cpu_s": 0}, 0) == ""
