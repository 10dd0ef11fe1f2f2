"""Long calls: N concurrent sleeping calls of a Node.js action whose limits.concurrency lets
one process run many of them (OpenWhisk's intra-container concurrency), and what they cost
while they wait: resident memory of the server and its function processes, and CPU.

    .venv/bin/python bench/long_calls.py                  # 1,000 calls x 20 s, concurrency 200
    .venv/bin/python bench/long_calls.py --calls 200 --sleep 10 --json

`measure()` returns the figures as a dict (bench/suite.py calls it). Steps: a fresh server
(SLUICE_NAMESPACE_CONCURRENCY raised to the call count, so only the memory pool and the
action's concurrency shape the run); the action; N non-blocking invokes; wait until every
call is `running`; let it settle; then over a window (`--window` seconds, inside the sleep)
sample the RSS (and PSS, which splits shared pages fairly) of the server and every process
under it, and the CPU they use; check every call was still running at the end of the window;
wait for all to finish and count the processes that served them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psutil
import uvloop

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.server import SluiceServer  # noqa: E402

from bench.core import Api, log, running_server  # noqa: E402
from bench.loadgen import now  # noqa: E402
from bench.machine import CpuMeter, wait_until_quiet  # noqa: E402

NAME = "long-sleeper"
#: names its process (a pid would not: each sandboxed process has a pid namespace of its own)
SLEEPER_JS = """
const me = require('crypto').randomUUID();
exports.main = async (args) => {
  await new Promise((resolve) => setTimeout(resolve, args.ms));
  return {process: me};
};
"""
MIB = 1 << 20
#: the issue's targets for 1,000 calls at concurrency 200
TARGET_RSS_MIB = 1024.0
TARGET_CPU_PCT = 5.0


def tree_memory(pid: int) -> dict[str, Any]:
    """RSS and PSS (bytes) of process `pid` and of every process under it, apart."""
    try:
        root = psutil.Process(pid)
        children = root.children(recursive=True)
    except psutil.Error:
        return {"server_rss": 0, "server_pss": 0, "runtime_rss": 0, "runtime_pss": 0, "kinds": {}}
    out: dict[str, Any] = {"runtime_rss": 0, "runtime_pss": 0, "kinds": {}}
    for proc in (root, *children):
        try:
            info = proc.memory_full_info()
            name = proc.name()
        except psutil.Error:
            continue  # gone meanwhile
        if proc.pid == pid:
            out["server_rss"], out["server_pss"] = info.rss, info.pss
            continue
        out["runtime_rss"] += info.rss
        out["runtime_pss"] += info.pss
        out["kinds"][name] = out["kinds"].get(name, 0) + 1
    return out


async def states(api: Api, ids: list[str]) -> dict[str, int]:
    """How many of the calls are in each state now."""
    counts: dict[str, int] = {}
    for call_id in ids:
        response = await api.http.request("GET", f"/sluice/v1/namespaces/_/calls/{call_id}")
        state = str(orjson.loads(response.body).get("state", "unknown"))
        counts[state] = counts.get(state, 0) + 1
    return counts


async def run_phase(
    server: SluiceServer,
    calls: int,
    concurrency: int,
    sleep_s: float,
    settle_s: float,
    window_s: float,
    start_timeout: float,
) -> dict[str, Any]:
    api = Api(server)
    assert server.process is not None
    pid = server.process.pid
    limits = {"concurrency": concurrency, "timeout": int((sleep_s + 120) * 1000)}
    body = orjson.dumps({"exec": {"kind": "nodejs:default", "code": SLEEPER_JS}, "limits": limits})
    path = f"/api/v1/namespaces/_/actions/{NAME}?overwrite=true"
    made = await api.http.request("PUT", path, body)
    if made.status != 200:
        raise RuntimeError(f"PUT {NAME}: HTTP {made.status} {made.body[:300]!r}")
    idle = tree_memory(pid)
    params = orjson.dumps({"ms": int(sleep_s * 1000)})
    ids: list[str] = []
    t0 = now()
    for _ in range(calls):
        response = await api.http.request(
            "POST", f"/api/v1/namespaces/_/actions/{NAME}?blocking=false", params
        )
        if response.status != 202:
            raise RuntimeError(f"invoke: HTTP {response.status} {response.body[:300]!r}")
        ids.append(str(orjson.loads(response.body)["activationId"]))
    accepted_s = now() - t0
    # every call started (cold starts included) before anything is measured
    deadline = now() + start_timeout
    counts = await states(api, ids)
    while counts.get("running", 0) < calls and now() < deadline:
        await asyncio.sleep(0.5)
        counts = await states(api, ids)
    all_running_s = now() - t0
    await asyncio.sleep(settle_s)
    meter = CpuMeter(pid).start()
    samples = []
    window_end = now() + window_s
    while now() < window_end:
        samples.append(tree_memory(pid))
        await asyncio.sleep(min(1.0, max(window_end - now(), 0.0)))
    cpu = meter.stop()
    still = await states(api, ids)
    waited_until_s = now() - t0
    # the processes that served the calls
    deadline = now() + sleep_s + start_timeout
    for call_id in ids:
        await api.wait_call(call_id, deadline)
    processes: set[str] = set()
    succeeded = 0
    for call_id in ids:
        record = await api.activation(call_id)
        response = record.get("response", {})
        if response.get("success"):
            succeeded += 1
            processes.add(str(response["result"]["process"]))
    peak = max(samples, key=lambda s: s["server_rss"] + s["runtime_rss"])
    rss_mib = (peak["server_rss"] + peak["runtime_rss"]) / MIB
    pss_mib = (peak["server_pss"] + peak["runtime_pss"]) / MIB
    wall = cpu["wall_s"] or 1.0
    cpu_pct = (cpu["server_cpu_s"] + cpu["functions_cpu_s"]) * 100 / wall
    return {
        "calls": calls,
        "concurrency": concurrency,
        "sleep_s": sleep_s,
        "accepted_in_s": round(accepted_s, 2),
        "all_running_after_s": round(all_running_s, 2),
        "running_at_start": counts.get("running", 0),
        "running_at_end_of_window": still.get("running", 0),
        "window_s": round(wall, 1),
        "window_ended_after_s": round(waited_until_s, 1),
        "total_rss_mib": round(rss_mib, 1),
        "total_pss_mib": round(pss_mib, 1),
        "server_rss_mib": round(peak["server_rss"] / MIB, 1),
        "runtime_rss_mib": round(peak["runtime_rss"] / MIB, 1),
        "runtime_processes": peak["kinds"],
        "idle_server_rss_mib": round(idle["server_rss"] / MIB, 1),
        "idle_runtime_rss_mib": round(idle["runtime_rss"] / MIB, 1),
        "cpu_pct_of_one_core": round(cpu_pct, 2),
        "server_cpu_pct": round(cpu["server_cpu_s"] * 100 / wall, 2),
        "functions_cpu_pct": round(cpu["functions_cpu_s"] * 100 / wall, 2),
        "not_ours_pct": round(cpu["not_ours_pct"], 1),
        "succeeded": succeeded,
        "processes_used": len(processes),
        "processes_expected": math.ceil(calls / concurrency),
        "target_rss_mib": TARGET_RSS_MIB,
        "target_cpu_pct": TARGET_CPU_PCT,
        "meets_target": rss_mib < TARGET_RSS_MIB and cpu_pct < TARGET_CPU_PCT,
    }


def measure(
    calls: int = 1000,
    concurrency: int = 200,
    sleep_s: float = 20.0,
    settle_s: float = 2.0,
    window_s: float = 8.0,
    start_timeout: float = 120.0,
    quiet_wait: float = 30.0,
    server_env: list[str] | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """Start a server, run the calls and return the figures (see the module's docstring)."""
    env = {"SLUICE_NAMESPACE_CONCURRENCY": str(max(calls, 32))}
    args = argparse.Namespace(server_env=list(server_env or []), start_timeout=300.0, keep=keep)
    with running_server(env, args) as server:
        wait_until_quiet(quiet_wait)
        log(f"long calls: {calls} x {sleep_s:.0f} s, concurrency {concurrency}")
        return uvloop.run(
            run_phase(server, calls, concurrency, sleep_s, settle_s, window_s, start_timeout)
        )


def table(figures: dict[str, Any]) -> str:
    f = figures
    kinds = f["runtime_processes"]
    rows = [
        ("calls waiting at once", f"{f['running_at_end_of_window']} of {f['calls']}"),
        ("processes serving them", f"{f['processes_used']} (ceil = {f['processes_expected']})"),
        ("processes under the server", ", ".join(f"{n} {k}" for k, n in kinds.items())),
        (
            "RSS, server + runtime processes",
            f"{f['total_rss_mib']} MiB ({f['server_rss_mib']} + {f['runtime_rss_mib']};"
            f" target < {f['target_rss_mib']:.0f})",
        ),
        ("PSS, same processes", f"{f['total_pss_mib']} MiB"),
        (
            "CPU while they wait, % of one core",
            f"{f['cpu_pct_of_one_core']} (server {f['server_cpu_pct']}, functions"
            f" {f['functions_cpu_pct']}; target < {f['target_cpu_pct']:.0f})",
        ),
        ("not ours (noise) meanwhile, % of one core", f"{f['not_ours_pct']}"),
        ("calls that succeeded", f"{f['succeeded']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--sleep", type=float, default=20.0, help="seconds each call sleeps")
    p.add_argument("--settle", type=float, default=2.0, help="seconds after all are running")
    p.add_argument("--window", type=float, default=8.0, help="seconds measured while they wait")
    p.add_argument("--quiet-wait", type=float, default=30.0)
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temp dirs and server logs")
    args = p.parse_args(argv)
    started = time.monotonic()
    figures = measure(
        args.calls,
        args.concurrency,
        args.sleep,
        args.settle,
        args.window,
        quiet_wait=args.quiet_wait,
        server_env=args.server_env,
        keep=args.keep,
    )
    log(f"done in {time.monotonic() - started:.0f} s")
    print(json.dumps(figures, indent=2) if args.json else table(figures))
    return 0 if figures["running_at_end_of_window"] == args.calls else 1


if __name__ == "__main__":
    sys.exit(main())
