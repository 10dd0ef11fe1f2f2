"""`python -m bench.suite`: run the sections, print one table (and write the JSON)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.core import REPO, add_profile_options, profile_lines
from bench.machine import machine_facts
from bench.suite import (
    accept,
    attacks,
    burst,
    cold,
    long_calls,
    metrics_cost,
    scale,
    throughput,
    warm,
)
from bench.suite.common import Report, log
from bench.suite.table import Row, markdown, tally

SECTIONS = {
    "accept": accept.run,
    "throughput": throughput.run,
    "warm": warm.run,
    "cold": cold.run,
    "scale": scale.run,
    "long": long_calls.run,
    "attacks": attacks.run,
    "burst": burst.run,
    "metrics": metrics_cost.run,
}
#: full value, --quick value (a smoke run: every code path, short loads)
DEFAULTS: dict[str, tuple[Any, Any]] = {
    "seconds": (10.0, 2.0),
    "warmup": (1.0, 0.5),
    "calls": (20_000, 2_000),
    "n": (500, 100),
    "m": (10, 3),
    "scale_levels": ("0,100000,1000000", "0,20000,100000"),
    "long_calls": (1000, 100),
    "long_sleep": (30.0, 20.0),
    "quiet_wait": (30.0, 3.0),
    "metrics_rounds": (3, 1),
    "metrics_accepts": (300, 50),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.suite",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="short loads, fewer calls (a smoke run)")
    p.add_argument("--only", action="append", choices=list(SECTIONS), help="repeatable")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--show", type=Path, metavar="FILE", help="print the table of a --json FILE")
    p.add_argument("--brief", action="store_true", help="--show without the notes column")
    p.add_argument("--rates", default="500,1000,2000", help="accept: requests per second")
    p.add_argument("--seconds", type=float, help="accept/scale: seconds per load (10; quick 2)")
    p.add_argument("--warmup", type=float, help="accept: unmeasured seconds first (1)")
    p.add_argument("--max-connections", type=int, default=512)
    p.add_argument("--calls", type=int, help="throughput: calls per run (20000)")
    p.add_argument("--submitters", type=int, default=16, help="throughput: client connections")
    p.add_argument("--workers", type=int, default=2, help="throughput: worker processes")
    p.add_argument("--peers-dir", type=Path, default=Path("/work/shared/bench-peers"))
    p.add_argument(
        "--peers", default="celery,rq-simple,dramatiq,arq,huey", help="throughput: peer queues"
    )
    p.add_argument("--n", type=int, help="warm: sequential invokes per kind (500)")
    p.add_argument("--m", type=int, help="cold: cold starts per kind and setting (10)")
    p.add_argument("--cold-gap", type=float, default=1.0, help="cold: seconds between runs")
    p.add_argument("--scale-levels", help="scale: queued calls, comma-separated")
    p.add_argument("--long-calls", type=int, help="long: concurrent sleeping calls (1000)")
    p.add_argument("--long-sleep", type=float, help="long: seconds each call sleeps")
    p.add_argument("--quiet-wait", type=float, help="max seconds to wait for a quiet machine")
    p.add_argument("--metrics-rounds", type=int, help="metrics: rounds of on and off (3)")
    p.add_argument(
        "--metrics-accepts", type=int, help="metrics: accepts counted under callgrind (300)"
    )
    p.add_argument("--drain-timeout", type=float, default=300.0)
    p.add_argument("--phase-timeout", type=float, default=300.0)
    p.add_argument("--start-timeout", type=float, default=300.0)
    add_profile_options(p, "the accept and throughput runs")
    p.add_argument("--keep", action="store_true", help="keep temp dirs and server logs")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="K=V",
        help="an extra SLUICE_* setting of every Sluice server (repeatable)",
    )
    args = p.parse_args(argv)
    for name, (full, quick) in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.rates = [float(r) for r in args.rates.split(",")]
    args.scale_levels = [int(n) for n in args.scale_levels.split(",")]
    args.only = args.only or list(SECTIONS)
    return args


def header(facts: dict[str, Any], args: argparse.Namespace, load_end: list[float]) -> str:
    return (
        f"Sluice benchmark suite{' (--quick)' if args.quick else ''}, {facts['date']}, "
        f"commit {facts['git_commit']}\n"
        f"machine: {facts['nproc']} CPUs ({facts['cpu_model']}), {facts['memory_gib']} GiB; "
        f"Python {facts['python']}, SQLite {facts['sqlite']}, Node {facts['node']}; "
        f"load average {facts['loadavg']} at the start, {load_end} at the end"
    )


def show(path: Path, notes: bool) -> str:
    """The table (and header) of a run, from the JSON it wrote."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {path} ({exc}): give a file a --json run wrote") from exc
    rows = [Row(**row) for row in data["table"]]
    facts = data["machine"]
    quick = " (--quick)" if data["config"].get("quick") else ""
    return "\n".join(
        [
            f"Sluice benchmark suite{quick}, {facts['date']}, commit {facts['git_commit']}; "
            f"load average {facts['loadavg']} at the start, {facts['loadavg_end']} at the end",
            "",
            markdown(rows, notes),
            "",
            tally(rows),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show:
        print(show(args.show, notes=not args.brief))
        return 0
    facts = machine_facts(REPO)
    report = Report()
    started = time.monotonic()
    for name in args.only:
        log(f"== section {name}")
        try:
            SECTIONS[name](args, report)
        except Exception as exc:  # one broken section leaves the others measured
            log(f"section {name} failed: {exc!r}")
            report.problems.append(f"section {name} failed: {exc!r}")
    load_end = [round(x, 2) for x in os.getloadavg()]
    text = "\n".join(
        [
            header(facts, args, load_end),
            "",
            markdown(report.rows),
            "",
            f"{tally(report.rows)}; {time.monotonic() - started:.0f} s in all",
            *([""] + [f"problem: {p}" for p in report.problems] if report.problems else []),
            *profile_lines(report.results.get("accept", {}).get("sluice", {})),
            *(
                line
                for runs in report.results.get("throughput", {}).values()
                for line in profile_lines(runs)
            ),
        ]
    )
    print(text)
    if args.json:
        config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        data = {
            "machine": {**facts, "loadavg_end": load_end},
            "config": config,
            "results": report.results,
            "table": [vars(row) for row in report.rows],
            "problems": report.problems,
        }
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
        log(f"wrote {args.json}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
