"""Section "burst": accept latency in the first seconds after a deploy (issue 25).

A webhook burst hits a function that was just deployed: no warm process, no stem cell of
its own, every first call a process to start. Each row is a fresh action taking an open
loop at a fixed rate from its first call (no warm-up), on the OpenWhisk non-blocking route,
Node.js and Python, beside the naive endpoint and the bare insert floor at the same rate in
the same run. The mixed row accepts at 1,000/s while 200 calls that each burn 50 ms of CPU
run."""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import uvloop

from bench.core import NODE, PYTHON, Api, floor_server, running_server
from bench.loadgen import now
from bench.stats import fmt_ms, fmt_rate
from bench.suite import accept
from bench.suite.common import Report, load_note, log, open_loop_figures
from bench.suite.table import Row, at_most, latency_cells, verdict

#: issue 25's target: the cold-burst p99 at 1,000/s within 1.5x the naive endpoint's
COLD_FACTOR = 1.5
#: a call that burns 50 ms of one core (the mixed row)
BURN = (
    "burn",
    "nodejs:default",
    "function main(a){const t=Date.now()+50;while(Date.now()<t);return {}}",
)
MIXED_CALLS = 200
MIXED_RATE = 1000.0


def _cold(args: argparse.Namespace) -> argparse.Namespace:
    """The same options with no unmeasured warm-up: the burst is the first load."""
    copy = argparse.Namespace(**vars(args))
    copy.warmup = 0.0
    return copy


async def _bursts(api: Api, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, (name, kind, code, _) in (("node", NODE), ("python", PYTHON)):
        for rate in args.rates:
            fresh = f"burst-{name}-{rate:.0f}"
            await api.put_action(fresh, kind, code)
            request = api.invoke_request(fresh, blocking=False)
            log(f"burst: {label} {rate:.0f}/s for {args.seconds:g} s after the deploy")
            figures = await open_loop_figures(api.port, pid, request, rate, _cold(args))
            done = await api.wait_count(fresh, figures["accepted"], now() + args.drain_timeout)
            figures["all_ran"] = done >= figures["accepted"]
            out[f"{label}_{rate:.0f}"] = figures
    return out


async def _mixed(api: Api, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    await api.put_action(*BURN)
    await api.put_action(*NODE[:3])
    await api.invoke(NODE[0], blocking=True)  # the no-op's process is warm: this is the mix
    log(f"burst: {MIXED_CALLS} CPU-burning calls queued, then {MIXED_RATE:.0f}/s accepts")
    for _ in range(MIXED_CALLS):
        await api.invoke(BURN[0], blocking=False)
    request = api.invoke_request(NODE[0], blocking=False)
    args = _cold(args)
    args.rates = [MIXED_RATE]
    figures = await open_loop_figures(api.port, pid, request, MIXED_RATE, args)
    figures["burned"] = await api.count(BURN[0])
    return figures


async def _both(api: Api, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    # one event loop for both: the API client's connection belongs to it
    return {"sluice": await _bursts(api, pid, args), "mixed": await _mixed(api, pid, args)}


def run(args: argparse.Namespace, report: Report) -> None:
    results: dict[str, Any] = {}
    cold = _cold(args)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-burst-")))
        results["naive"] = accept._naive_runs(stack, tmp, cold)
        env = {"BENCH_FLOOR_DB": str(tmp / "floor.db"), "BENCH_FLOOR_SYNC": "FULL"}
        port, pid = stack.enter_context(floor_server("bench.floor_insert_app:app", env))
        label = "insert floor synchronous=FULL"
        results["floor"] = uvloop.run(accept._floor_runs(port, pid, "/accept", label, cold))
    with running_server({"SLUICE_SYNC": "FULL"}, args) as server:
        assert server.process is not None
        api = Api(server)
        results.update(uvloop.run(_both(api, server.process.pid, args)))
    report.results["burst"] = results
    report.rows += rows(results, args)


def rows(results: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    out: list[Row] = []
    naive = results.get("naive", {})
    for rate in args.rates:
        key = f"{rate:.0f}"
        naive_p99 = naive[key]["latency_ms"].get("p99") if key in naive else None
        floor_p99 = results["floor"][key]["latency_ms"].get("p99")
        reference = f"naive FULL p99 {fmt_ms(naive_p99)}; bare floor p99 {fmt_ms(floor_p99)}"
        for label, words in (("node", "Node.js"), ("python", "Python")):
            f = results["sluice"][f"{label}_{key}"]
            p99 = f["latency_ms"].get("p99")
            limit = naive_p99 * COLD_FACTOR if naive_p99 is not None and rate == 1000 else None
            out.append(
                Row(
                    "10 burst",
                    f"Sluice OpenWhisk non-blocking, {key}/s from a {words} action's deploy",
                    f"{fmt_rate(f['achieved_rate'])} sent",
                    *latency_cells(f["latency_ms"]),
                    reference=reference,
                    target=f"p99 <= {COLD_FACTOR:g}x the naive p99" if limit else "",
                    verdict=verdict(at_most(p99, limit)) if limit else "",
                    notes=load_note(f) + ("" if f["all_ran"] else "; NOT every call ran"),
                )
            )
    mixed = results.get("mixed")
    if mixed:
        key = f"{MIXED_RATE:.0f}"
        naive_p99 = naive[key]["latency_ms"].get("p99") if key in naive else None
        p99 = mixed["latency_ms"].get("p99")
        out.append(
            Row(
                "10 burst",
                f"Sluice accepts at {key}/s while {MIXED_CALLS} calls burn 50 ms of CPU each",
                f"{fmt_rate(mixed['achieved_rate'])} sent",
                *latency_cells(mixed["latency_ms"]),
                reference=f"naive FULL p99 {fmt_ms(naive_p99)}",
                target="p99 <= the naive p99",
                verdict=verdict(at_most(p99, naive_p99)),
                notes=load_note(mixed) + f"; {mixed['burned']} burning calls done by the end",
            )
        )
    return out
