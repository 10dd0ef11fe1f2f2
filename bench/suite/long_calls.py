"""Section 6: long calls. 1,000 concurrent calls of a Node.js action that sleeps (the seed's
100-s worker, shortened), accepted at once; once as many run as the settings allow, the
memory (RSS) of the server and of its function processes, and their CPU over a window,
while the calls wait.

The action asks for limits.concurrency 200 (one process serving 200 calls at once, as
OpenWhisk does), so 5 Node.js processes serve the 1,000 calls; SLUICE_MAX_PROCESSES (default
200) only leaves room to spare. The row says how many calls actually ran at once and in how
many processes. (bench/long_calls.py measures the same on its own and also checks which
process served each call.)"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import orjson
import psutil
import uvloop

from bench.core import Api, running_server
from bench.loadgen import now
from bench.machine import CpuMeter
from bench.suite.common import Report, cpu_note, log
from bench.suite.table import Row, all_of, at_most, verdict

CONCURRENCY = 200
GIB_MB, CPU_PCT = 1024.0, 5.0


def sleeper(seconds: float) -> str:
    ms = int(seconds * 1000)
    return f"function main() {{ return new Promise(done => setTimeout(() => done({{}}), {ms})); }}"


def tree_memory(pid: int) -> dict[str, float]:
    """RSS (MiB) of the server and of its descendants, and their count. RSS counts shared
    pages once per process: an upper bound. PSS shares them out: the honest total."""
    root = psutil.Process(pid)
    children = root.children(recursive=True)
    runners = sum(1 for proc in children if proc.name() == "node")
    out = {"server_rss_mb": root.memory_info().rss / 2**20, "processes": float(len(children))}
    out["node_processes"] = float(runners)
    rss = pss = 0.0
    for proc in children:
        try:
            rss += proc.memory_info().rss
            pss += proc.memory_full_info().pss
        except psutil.Error:
            continue
    out["functions_rss_mb"] = rss / 2**20
    out["functions_pss_mb"] = pss / 2**20
    out["server_pss_mb"] = root.memory_full_info().pss / 2**20
    return out


async def _settled(pid: int, seconds: float) -> int:
    """Wait until the number of function processes has not changed for 3 s (all that can
    start have started), at most `seconds`; that number."""
    deadline = now() + seconds
    last, since = -1, now()
    while now() < deadline:
        count = len(psutil.Process(pid).children(recursive=True))
        if count != last:
            last, since = count, now()
        elif now() - since >= 3:
            break
        await asyncio.sleep(0.5)
    return last


async def call_states(api: Api, ids: list[str]) -> dict[str, int]:
    """How many of the calls are queued, running, ...: each one's live state."""
    counts: dict[str, int] = {}
    for call_id in ids:
        answer = await api.http.request("GET", f"/sluice/v1/namespaces/_/calls/{call_id}")
        state = str(orjson.loads(answer.body).get("state", f"HTTP {answer.status}"))
        counts[state] = counts.get(state, 0) + 1
    return counts


async def measure(api: Api, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    body = {
        "exec": {"kind": "nodejs:default", "code": sleeper(args.long_sleep)},
        "limits": {
            "concurrency": CONCURRENCY,
            "memory": 128,
            "timeout": int((args.long_sleep + 120) * 1000),
        },
    }
    put = await api.http.request(
        "PUT", "/api/v1/namespaces/_/actions/sleeper?overwrite=true", orjson.dumps(body)
    )
    if put.status != 200:
        raise RuntimeError(f"PUT sleeper: HTTP {put.status} {put.body[:300]!r}")
    t0 = now()
    ids: list[str] = []
    for _ in range(args.long_calls):
        answer = await api.invoke("sleeper", blocking=False)
        if answer.status == 202:
            ids.append(orjson.loads(answer.body)["activationId"])
    accepted = len(ids)
    log(f"long: {accepted} calls accepted in {now() - t0:.1f} s; waiting for their processes")
    processes = await _settled(pid, min(args.long_sleep / 2, 120))
    settled_after = now() - t0
    meter = CpuMeter(pid).start()
    await asyncio.sleep(min(10.0, max(args.long_sleep - settled_after - 5, 2.0)))
    cpu = meter.stop()
    memory = tree_memory(pid)
    states = await call_states(api, ids)
    finished = await api.count("sleeper")
    return {
        "calls": args.long_calls,
        "accepted": accepted,
        "processes": processes,
        "states": states,
        "settled_after_s": settled_after,
        "finished_before_measure_end": finished,
        "still_waiting_at_end": now() - t0 < args.long_sleep,
        "cpu": cpu,
        "memory": memory,
    }


def run(args: argparse.Namespace, report: Report) -> None:
    env = {
        "SLUICE_MAX_PROCESSES": str(args.long_processes),
        "SLUICE_NAMESPACE_CONCURRENCY": str(args.long_calls),
        "SLUICE_WORKER_MEMORY_MB": str(128 * args.long_calls),
        "SLUICE_SHUTDOWN_GRACE_SECONDS": "1",
    }
    with running_server(env, args) as server:
        assert server.process is not None
        results = uvloop.run(measure(Api(server), server.process.pid, args))
    results["settings"] = env
    report.results["long"] = results
    report.rows += rows(results, args)
    if not results["still_waiting_at_end"] or results["finished_before_measure_end"]:
        report.problems.append("long: some calls ended before the measurement did")


def rows(r: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    m, cpu = r["memory"], r["cpu"]
    total_rss = m["server_rss_mb"] + m["functions_rss_mb"]
    total_pss = m["server_pss_mb"] + m["functions_pss_mb"]
    cpu_pct = 100 * (cpu["server_cpu_s"] + cpu["functions_cpu_s"]) / cpu["wall_s"]
    states = r["states"]
    return [
        Row(
            "6 long",
            f"{r['calls']:,} sleeping Node.js calls (limits.concurrency {CONCURRENCY} asked; "
            f"SLUICE_MAX_PROCESSES={args.long_processes}): memory while they wait",
            f"RSS {total_rss:,.0f} MiB (PSS {total_pss:,.0f} MiB)",
            target=f"< {GIB_MB:,.0f} MiB in all",
            verdict=verdict(at_most(total_rss, GIB_MB)),
            notes=f"server RSS {m['server_rss_mb']:.0f} MiB + {int(m['processes'])} child "
            f"processes ({int(m['node_processes'])} node, the rest sandbox wrappers) "
            f"{m['functions_rss_mb']:,.0f} MiB (PSS {m['functions_pss_mb']:,.0f}); call states "
            f"{states} ('running' = leased by the worker, executing or waiting for a "
            "process slot)",
        ),
        Row(
            "6 long",
            f"{r['calls']:,} sleeping Node.js calls: CPU of server + function processes "
            "while they wait",
            f"{cpu_pct:.1f}% of one core",
            target=f"< {CPU_PCT:g}% of one core",
            verdict=verdict(all_of(at_most(cpu_pct, CPU_PCT))),
            notes=f"over {cpu['wall_s']:.0f} s, {r['settled_after_s']:.0f} s after the "
            f"accepts; server {100 * cpu['server_cpu_s'] / cpu['wall_s']:.1f}%, functions "
            f"{100 * cpu['functions_cpu_s'] / cpu['wall_s']:.1f}%; {cpu_note(cpu)}",
        ),
    ]
