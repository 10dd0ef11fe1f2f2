"""Section 6: long calls. 1,000 concurrent calls of a Node.js action that sleeps (the seed's
100-s worker, shortened) with limits.concurrency 200: the memory (RSS, and PSS, which splits
shared pages fairly) of the server and its function processes, and their CPU, while the
calls wait. Measured by bench/long_calls.py's `measure()`; this module makes its rows."""

from __future__ import annotations

import argparse
from typing import Any

from bench.long_calls import measure
from bench.suite.common import Report
from bench.suite.table import Row, at_most, verdict

CONCURRENCY = 200


def run(args: argparse.Namespace, report: Report) -> None:
    figures = measure(
        calls=args.long_calls,
        concurrency=CONCURRENCY,
        sleep_s=args.long_sleep,
        quiet_wait=args.quiet_wait,
        keep=args.keep,
    )
    report.results["long"] = figures
    report.rows += rows(figures)
    if figures["running_at_end_of_window"] < figures["calls"]:
        report.problems.append("long: not every call was still waiting at the window's end")


def rows(f: dict[str, Any]) -> list[Row]:
    kinds = ", ".join(f"{n} {kind}" for kind, n in f["runtime_processes"].items())
    waiting = (
        f"{f['running_at_end_of_window']}/{f['calls']} calls waiting at the window's end; "
        f"{f['processes_used']} processes served them (ceil = {f['processes_expected']}); "
        f"{f['succeeded']} succeeded"
    )
    return [
        Row(
            "6 long",
            f"{f['calls']:,} sleeping Node.js calls, limits.concurrency "
            f"{f['concurrency']}: RSS of server + function processes while they wait",
            f"{f['total_rss_mib']:,.0f} MiB (PSS {f['total_pss_mib']:,.0f})",
            target=f"< {f['target_rss_mib']:,.0f} MiB in all",
            verdict=verdict(at_most(f["total_rss_mib"], f["target_rss_mib"])),
            notes=f"server {f['server_rss_mib']:.0f} MiB + functions "
            f"{f['runtime_rss_mib']:.0f} MiB ({kinds}); {waiting}",
        ),
        Row(
            "6 long",
            f"{f['calls']:,} sleeping Node.js calls: CPU of server + function processes "
            "while they wait",
            f"{f['cpu_pct_of_one_core']:.1f}% of one core",
            target=f"< {f['target_cpu_pct']:g}% of one core",
            verdict=verdict(at_most(f["cpu_pct_of_one_core"], f["target_cpu_pct"])),
            notes=f"over {f['window_s']:.0f} s; server {f['server_cpu_pct']:.1f}%, functions "
            f"{f['functions_cpu_pct']:.1f}%; not ours {f['not_ours_pct']:.0f}%",
        ),
    ]
