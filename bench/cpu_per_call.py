"""Server CPU per call for the throughput load: N non-blocking invokes of a Python no-op over
a few connections, waited on until every one has a finished record; the server process
tree's CPU (user + system of the server and its function processes) divided by the calls
finished. Wall-clock rates on a shared machine are noise; this figure moves much less.

    .venv/bin/python -m bench.cpu_per_call --runs 3 [--calls 3000] [--py-spy .venv/bin/py-spy]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import psutil
import uvloop

from bench.core import PYTHON, Api, Profiler, running_server
from bench.suite.throughput import submit


def _tree_cpu(pid: int) -> dict[str, float]:
    root = psutil.Process(pid)
    out = {"server": 0.0, "functions": 0.0}
    for proc in (root, *root.children(recursive=True)):
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        out["server" if proc.pid == pid else "functions"] += t.user + t.system
    return out


async def one_run(api: Api, pid: int, args: argparse.Namespace, label: str) -> dict[str, Any]:
    name = PYTHON[0]
    for _ in range(20):  # its processes are up before the meter starts
        await api.invoke(name, blocking=True)
    if args.warm_burst:  # and, optionally, as many as a burst makes the pool grow to
        burst = await submit(api, name, args.warm_burst, args.submitters)
        if burst["last"]:
            await api.wait_call(burst["last"], time.monotonic() + 120)
    before = await api.count(name)
    cpu0 = _tree_cpu(pid)
    profiler = Profiler(args, pid, label)
    t0 = time.monotonic()
    sent = await submit(api, name, args.calls, args.submitters)
    deadline = time.monotonic() + 120
    if sent["last"]:  # one long poll, so that counting does not load the server meanwhile
        await api.wait_call(sent["last"], deadline)
    finished = await api.wait_count(name, before + sent["accepted"], deadline)
    wall = time.monotonic() - t0
    cpu1 = _tree_cpu(pid)
    profile = profiler.stop()
    done = finished - before
    server = (cpu1["server"] - cpu0["server"]) / done * 1e6
    functions = (cpu1["functions"] - cpu0["functions"]) / done * 1e6
    return {
        "finished": done,
        "server_us": server,
        "functions_us": functions,
        "calls_per_s": done / wall,
        "profile": profile,
    }


async def measure(api: Api, pid: int, args: argparse.Namespace, label: str) -> dict[str, Any]:
    await api.put_action(*PYTHON[:3])
    return await one_run(api, pid, args, label)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--submitters", type=int, default=8)
    p.add_argument(
        "--warm-burst",
        type=int,
        default=0,
        help="calls sent before the meter starts (the pool's growth left out of the figure)",
    )
    p.add_argument("--sync", default="FULL")
    p.add_argument("--py-spy", default=None)
    p.add_argument("--py-spy-gil", action="store_true", help="sample the GIL holder only")
    p.add_argument("--profile-dir", default=None)
    p.add_argument("--server-env", action="append", default=[])
    p.add_argument("--start-timeout", type=float, default=120)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    results: list[dict[str, Any]] = []
    for i in range(args.runs):
        with running_server({"SLUICE_SYNC": args.sync}, args) as server:
            assert server.process is not None
            r = uvloop.run(measure(Api(server), server.process.pid, args, f"cpu-per-call-{i}"))
        results.append(r)
        print(
            f"run {i + 1}: {r['finished']} calls, server {r['server_us']:.0f} us/call "
            f"(function processes {r['functions_us']:.0f} us), {r['calls_per_s']:.0f} calls/s",
            flush=True,
        )
        if r["profile"]:
            print(f"    profile: {r['profile'].get('file')}")
            for frame, pct in r["profile"].get("self_pct", [])[:12]:
                print(f"    self {pct:5.1f}%  {frame}")
    median = statistics.median(r["server_us"] + r["functions_us"] for r in results)
    print(f"median server tree CPU per call: {median:.0f} us", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
