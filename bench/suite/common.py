"""What every section shares: the report it adds to, progress lines, CPU notes."""

from __future__ import annotations

import argparse
import asyncio
import gc
from dataclasses import dataclass, field
from typing import Any

from bench.core import HOST, NPROC, log
from bench.loadgen import OpenLoop
from bench.machine import CpuMeter, wait_until_quiet
from bench.stats import summary_ms
from bench.suite.table import Row

__all__ = ["HOST", "Report", "cpu_note", "log", "open_loop_figures", "quiet"]


@dataclass
class Report:
    """Figures (for the JSON), rows (for the table) and problems, as sections add them."""

    results: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def cpu_note(cpu: dict[str, float]) -> str:
    """Who used the CPU during a measurement: anything 'not ours' above ~10% moved it."""
    return (
        f"machine {cpu['machine_busy_pct']:.0f}% busy (of {100 * NPROC}%), "
        f"not ours {cpu['not_ours_pct']:.0f}%"
    )


async def quiet(args: argparse.Namespace) -> float:
    """Wait (up to --quiet-wait s) for the machine to be under 15% busy; the last reading."""
    return await asyncio.to_thread(wait_until_quiet, args.quiet_wait)


async def open_loop_figures(
    port: int, pid: int, request: bytes, rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    """One measured open-loop run (after `--warmup` s of the same load, unmeasured):
    latency from each request's due time to the end of its 202, and the CPU split."""
    if args.warmup > 0:
        await OpenLoop(HOST, port, request, rate, args.warmup, 202, args.max_connections).run()
    busy_before = await quiet(args)
    meter = CpuMeter(pid).start()
    gc.collect()
    gc.disable()  # the generator's own pauses would show up as server latency
    try:
        load = await OpenLoop(
            HOST, port, request, rate, args.seconds, 202, args.max_connections
        ).run()
    finally:
        gc.enable()
    return {
        "rate": rate,
        "seconds": args.seconds,
        "planned": load.planned,
        "accepted": load.ok,
        "errors": load.errors,
        "connections": load.connections,
        "achieved_rate": load.achieved_rate,
        "latency_ms": summary_ms(load.latencies),
        "lag_ms": summary_ms(load.lag),
        "last_body": load.last_body.decode(errors="replace"),
        "machine_busy_before_pct": busy_before,
        "cpu": meter.stop(),
    }


def load_note(f: dict[str, Any]) -> str:
    errors = sum(f["errors"].values())
    return (
        f"{f['accepted']}/{f['planned']} 202"
        + (f", errors {f['errors']}" if errors else "")
        + f"; {f['connections']} conns; {cpu_note(f['cpu'])}"
    )
