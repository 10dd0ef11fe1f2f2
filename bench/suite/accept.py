"""Section 1: accept latency, open loop at fixed rates, on the OpenWhisk non-blocking route
and the OpenFaaS async route, while the workers run the accepted calls. Beside it, on the
same stack and the same loads: the issue's reference, the naive durable endpoint (the
bench-peers harness's apps/accept.py: FastAPI, one SQLite WAL insert per request, FULL as
Sluice runs), and the floor below any framework (a bare ASGI app doing the same insert,
FULL and NORMAL)."""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import uvloop

from bench.core import NODE, Api, Profiler, floor_server, running_server
from bench.loadgen import build_request, now
from bench.stats import fmt_ms, fmt_rate
from bench.suite import peers
from bench.suite.common import HOST, Report, load_note, log, open_loop_figures
from bench.suite.table import Row, all_of, at_most, latency_cells, verdict

ROUTES = {
    "openwhisk": (
        "OpenWhisk POST /actions/noop?blocking=false",
        "/api/v1/namespaces/_/actions/{}?blocking=false",
    ),
    "openfaas": ("OpenFaaS POST /async-function/noop", "/async-function/{}"),
}
#: the issue's targets: p99 at 1,000/s <= 3 ms and below the naive endpoint's in the same
#: run; at 2,000/s <= 10 ms
P99_TARGET_MS = {1000.0: 3.0, 2000.0: 10.0}
PEERS_FIGURES = {
    "FULL": "bench-peers README, 1000/s: p99 7.68 ms",
    "NORMAL": "bench-peers README, FastAPI NORMAL 1000/s: p99 4.94 ms",
}
NAIVE = "naive FastAPI + 1 SQLite insert/request (bench-peers apps/accept.py), synchronous=FULL"


async def _sluice_runs(port: int, pid: int, api: Api, args: argparse.Namespace) -> dict[str, Any]:
    name = NODE[0]
    await api.put_action(*NODE[:3])
    first = await api.invoke(name, blocking=True)  # its process exists before the load
    expected = 1 if first.status == 200 else 0
    out: dict[str, Any] = {}
    for rate in args.rates:
        for route, (_, path) in ROUTES.items():
            request = build_request("POST", path.format(name), HOST, port, b"{}", api.headers)
            log(f"accept: sluice {route} {rate:.0f}/s for {args.seconds:g} s")
            profiler = Profiler(args, pid, f"accept-{route}-{rate:.0f}")
            figures = await open_loop_figures(port, pid, request, rate, args)
            figures["profile"] = profiler.stop()
            # every accepted call runs before the next load, so each starts with no backlog
            expected += figures["accepted"] + (int(rate * args.warmup) if args.warmup else 0)
            t0 = now()
            done = await api.wait_count(name, expected, now() + args.drain_timeout)
            figures["drained_after_s"] = now() - t0
            figures["all_ran"] = done >= expected
            expected = done
            out[f"{route}_{rate:.0f}"] = figures
    return out


async def _floor_runs(
    port: int, pid: int, path: str, label: str, args: argparse.Namespace
) -> dict[str, Any]:
    request = build_request("POST", path, HOST, port, b"{}", {"X-A": "b"})
    out: dict[str, Any] = {}
    for rate in args.rates:
        log(f"accept: {label} {rate:.0f}/s for {args.seconds:g} s")
        out[f"{rate:.0f}"] = await open_loop_figures(port, pid, request, rate, args)
    return out


def _naive_runs(stack: ExitStack, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The issue's reference: the peers harness's own FastAPI app, from the peers' venv."""
    apps = args.peers_dir / "apps"
    why = (
        f"no {apps / 'accept.py'}"
        if not (apps / "accept.py").is_file()
        else peers.ensure_venv(args.peers_dir)
    )
    if why:
        log(f"accept: naive endpoint skipped: {why}")
        return {"skipped": why}
    env = {"PEERS_DB": str(tmp / "naive-FULL.db"), "PEERS_SYNC": "FULL"}
    python = str(peers.VENV / "bin" / "python")
    port, pid = stack.enter_context(floor_server("accept:app", env, python, apps))
    return uvloop.run(_floor_runs(port, pid, "/async-function/noop", "naive FastAPI FULL", args))


def run(args: argparse.Namespace, report: Report) -> None:
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-floor-")))
        results["naive_FULL"] = _naive_runs(stack, tmp, args)
        for sync in ("FULL", "NORMAL"):
            env = {"BENCH_FLOOR_DB": str(tmp / f"floor-{sync}.db"), "BENCH_FLOOR_SYNC": sync}
            port, pid = stack.enter_context(floor_server("bench.floor_insert_app:app", env))
            label = f"insert floor synchronous={sync}"
            results[f"floor_{sync}"] = uvloop.run(_floor_runs(port, pid, "/accept", label, args))
    with running_server({"SLUICE_SYNC": "FULL"}, args) as server:
        assert server.process is not None
        api = Api(server)
        results["sluice"] = uvloop.run(_sluice_runs(server.port, server.process.pid, api, args))
    report.results["accept"] = results
    report.rows += rows(results, args)
    for key, figures in results["sluice"].items():
        if not figures["all_ran"]:
            report.problems.append(f"accept {key}: not every accepted call ran in time")


def rows(results: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    out: list[Row] = []
    naive = results.get("naive_FULL", {})
    for rate in args.rates:
        key = f"{rate:.0f}"
        if key in naive:
            out.append(_reference_row(NAIVE, naive[key], key, PEERS_FIGURES["FULL"], rate))
        elif "skipped" in naive:
            out.append(Row("1 accept", f"{NAIVE}, {key}/s", "skipped", notes=naive["skipped"]))
        for sync in ("FULL", "NORMAL"):
            label = f"floor: bare ASGI + 1 SQLite insert/request, synchronous={sync}"
            out.append(_reference_row(label, results[f"floor_{sync}"][key], key, "", rate))
        full = results["floor_FULL"][key]["latency_ms"].get("p99")
        naive_p99 = naive[key]["latency_ms"].get("p99") if key in naive else None
        for route, (label, _) in ROUTES.items():
            f = results["sluice"][f"{route}_{key}"]
            p99 = f["latency_ms"].get("p99")
            target = P99_TARGET_MS.get(rate)
            checks = [at_most(p99, target)] if target else []
            words = f"p99 <= {target:g} ms" if target else ""
            if rate == 1000:
                checks.append(at_most(p99, naive_p99))
                words += " and < the naive endpoint's p99"
            out.append(
                Row(
                    "1 accept",
                    f"Sluice {label}, {key}/s, SLUICE_SYNC=FULL, workers running the calls",
                    f"{fmt_rate(f['achieved_rate'])} sent",
                    *latency_cells(f["latency_ms"]),
                    reference=f"naive FULL p99 {fmt_ms(naive_p99)}; "
                    f"bare floor FULL p99 {fmt_ms(full)}",
                    target=words,
                    verdict=verdict(all_of(*checks)) if checks else "",
                    notes=load_note(f)
                    + f"; backlog ran {f['drained_after_s']:.1f} s after the load",
                )
            )
    return out


def _reference_row(label: str, f: dict[str, Any], key: str, peers_figure: str, rate: float) -> Row:
    return Row(
        "1 accept",
        f"{label}, {key}/s",
        f"{fmt_rate(f['achieved_rate'])} sent",
        *latency_cells(f["latency_ms"]),
        reference=peers_figure if rate == 1000 else "",
        notes=load_note(f),
    )
