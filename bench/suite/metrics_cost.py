"""Section 7 (issue 24): what counting metrics costs the accept path. The same open-loop
loads as section 1 on the OpenWhisk non-blocking and OpenFaaS async routes, against servers
with SLUICE_METRICS on and off in turn (on, off, on, off...: a neighbour's load or the
machine's drift falls on both), each round a fresh server whose workers take nothing
(SLUICE_WORKER_MEMORY_MB=0), so that its CPU is the accepts' alone. The rows give each
setting's median over its rounds of the server's CPU time per accepted call (what a
neighbour's load moves least) and of p50 and p99."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from typing import Any

import uvloop

from bench import metrics_instructions
from bench.core import NODE, Api, running_server
from bench.loadgen import build_request
from bench.stats import fmt_ms
from bench.suite.accept import ROUTES
from bench.suite.common import HOST, Report, log, open_loop_figures
from bench.suite.table import Row, at_most, verdict

SETTINGS = ("on", "off")
#: "no slower than noise": on's CPU per accept within this share of off's
NOISE = 0.05


async def _round(server_port: int, pid: int, api: Api, args: argparse.Namespace) -> dict[str, Any]:
    name = NODE[0]
    await api.put_action(*NODE[:3])  # never run: the workers have no room
    out: dict[str, Any] = {}
    for rate in args.rates:
        for route, (_, path) in ROUTES.items():
            request = build_request(
                "POST", path.format(name), HOST, server_port, b"{}", api.headers
            )
            out[f"{route}_{rate:.0f}"] = await open_loop_figures(
                server_port, pid, request, rate, args
            )
    return out


def run(args: argparse.Namespace, report: Report) -> None:
    rounds: dict[str, list[dict[str, Any]]] = {setting: [] for setting in SETTINGS}
    for index in range(args.metrics_rounds):
        for setting in SETTINGS:
            log(f"metrics: round {index + 1}, SLUICE_METRICS={setting}")
            env = {"SLUICE_SYNC": "FULL", "SLUICE_METRICS": setting, "SLUICE_WORKER_MEMORY_MB": "0"}
            with running_server(env, args) as server:
                assert server.process is not None
                figures = uvloop.run(_round(server.port, server.process.pid, Api(server), args))
            rounds[setting].append(figures)
    probes = [_probe() for _ in range(3)]
    counted = _instructions(args)
    report.results["metrics"] = {**rounds, "probe": probes, "instructions": counted}
    report.rows += rows(rounds, args)
    if counted:
        report.rows.append(_instructions_row(counted))
    cost = min(probe["cost_us"] for probe in probes)
    report.rows.append(
        Row(
            "7 metrics",
            "what counting adds to one accept, in-process (bench/metrics_probe.py: the HTTP "
            "middleware and the engine's counter, multi-process mode)",
            f"{cost:.1f} us",
            reference=f"the request without them: {min(p['off_us'] for p in probes):.1f} us",
            notes="least of three runs of five: "
            + ", ".join(f"{p['cost_us']:.1f}" for p in probes),
        )
    )


def _instructions(args: argparse.Namespace) -> dict[str, float]:
    """Instructions per accept, on and off, under callgrind (none without valgrind)."""
    if shutil.which("valgrind") is None:
        log("metrics: no valgrind, so no count of instructions")
        return {}
    log("metrics: instructions per accept under callgrind, on then off")
    return {
        setting: metrics_instructions.instructions_per_accept(setting, args.metrics_accepts)
        for setting in SETTINGS
    }


def _instructions_row(counted: dict[str, float]) -> Row:
    on, off = counted["on"], counted["off"]
    return Row(
        "7 metrics",
        "instructions per OpenWhisk accept, SLUICE_METRICS=on (bench/metrics_instructions.py: "
        "callgrind, sequential accepts, each its own commit; the load does not move it)",
        f"{on:,.0f}",
        reference=f"SLUICE_METRICS=off: {off:,.0f}",
        target=f"<= off's + {NOISE:.0%}",
        verdict=verdict(at_most(on, off * (1 + NOISE))),
        notes=f"on adds {on - off:,.0f} ({(on - off) / off:.1%})",
    )


def _probe() -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.metrics_probe"], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def _median(runs: list[dict[str, Any]], key: str, stat: str) -> float:
    return statistics.median(run[key]["latency_ms"][stat] for run in runs)


def _cpu_us(run: dict[str, Any]) -> float:
    """The server's CPU time per accepted call, in microseconds."""
    return float(run["cpu"]["server_cpu_s"]) / max(run["accepted"], 1) * 1e6


def rows(rounds: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> list[Row]:
    out: list[Row] = []
    for rate in args.rates:
        for route, (label, _) in ROUTES.items():
            key = f"{route}_{rate:.0f}"
            on = {stat: _median(rounds["on"], key, stat) for stat in ("p50", "p99")}
            off = {stat: _median(rounds["off"], key, stat) for stat in ("p50", "p99")}
            cpu = {
                setting: statistics.median(_cpu_us(r[key]) for r in rounds[setting])
                for setting in SETTINGS
            }
            each = ", ".join(
                f"{setting} " + "/".join(f"{_cpu_us(r[key]):.0f}" for r in rounds[setting])
                for setting in SETTINGS
            )
            out.append(
                Row(
                    "7 metrics",
                    f"Sluice {label}, {rate:.0f}/s, SLUICE_METRICS=on (median of rounds)",
                    f"{cpu['on']:.0f} us CPU/accept",
                    fmt_ms(on["p50"]),
                    fmt_ms(on["p99"]),
                    reference=f"SLUICE_METRICS=off: {cpu['off']:.0f} us CPU/accept, "
                    f"p50 {fmt_ms(off['p50'])}, p99 {fmt_ms(off['p99'])}",
                    target=f"CPU/accept <= off's + {NOISE:.0%}",
                    verdict=verdict(at_most(cpu["on"], cpu["off"] * (1 + NOISE))),
                    notes=f"server CPU us per accept, each round: {each}",
                )
            )
    return out
