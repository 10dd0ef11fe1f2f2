"""Section 2: end-to-end throughput. N no-op async calls (Python, then Node.js) sent over
a few connections, timed from the first send until every one has a finished record;
beside it the peers' task queues doing N no-op jobs with the same number of worker
processes (bench/suite/peers.py)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import orjson
import uvloop

from bench.core import KINDS, NPROC, Api, Profiler, running_server
from bench.loadgen import HttpClient, now
from bench.machine import CpuMeter
from bench.stats import fmt_rate, summary_ms
from bench.suite import peers
from bench.suite.common import HOST, Report, cpu_note, log, quiet
from bench.suite.table import Row, at_least, verdict


async def submit(api: Api, name: str, n: int, connections: int) -> dict[str, Any]:
    """Send `n` non-blocking invokes over `connections` keep-alive connections, each sending
    its next as soon as the last is answered (like a producer calling enqueue in a loop)."""
    path = f"/api/v1/namespaces/_/actions/{name}?blocking=false"
    left = n
    errors: dict[str, int] = {}
    latencies: list[float] = []
    last_id = ""

    async def one_connection() -> None:
        nonlocal left, last_id
        client = HttpClient(HOST, api.port, api.headers)
        try:
            while left > 0:
                left -= 1
                answer = await client.request("POST", path, b"{}")
                if answer.status == 202:
                    latencies.append(answer.elapsed)
                    last_id = orjson.loads(answer.body)["activationId"]
                else:
                    errors[str(answer.status)] = errors.get(str(answer.status), 0) + 1
        finally:
            client.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return {"accepted": len(latencies), "errors": errors, "latency": latencies, "last": last_id}


async def _count_until(api: Api, name: str, expected: int, deadline: float) -> tuple[int, float]:
    while True:
        count = await api.count(name)
        if count >= expected or now() > deadline:
            return count, now()
        await asyncio.sleep(0.1)


async def one_kind(
    api: Api, kind: str, pid: int, label: str, args: argparse.Namespace
) -> dict[str, Any]:
    name = KINDS[kind][0]
    for _ in range(20):  # its processes are up before the clock starts
        await api.invoke(name, blocking=True)
    before = await api.count(name)
    busy_before = await quiet(args)
    meter = CpuMeter(pid).start()
    profiler = Profiler(args, pid, f"throughput-{kind}-{label}")
    t0 = now()
    sent = await submit(api, name, args.calls, args.submitters)
    t_sent = now()
    deadline = t_sent + args.drain_timeout
    if sent["last"]:
        await api.wait_call(sent["last"], deadline)
    count, t_done = await _count_until(api, name, before + sent["accepted"], deadline)
    done = count - before
    return {
        "calls": args.calls,
        "accepted": sent["accepted"],
        "errors": sent["errors"],
        "finished": done,
        "complete": done >= args.calls,
        "submit_s": t_sent - t0,
        "submit_rate": sent["accepted"] / (t_sent - t0),
        "accept_latency_ms": summary_ms(sent["latency"]),
        "total_s": t_done - t0,
        "calls_per_s": done / (t_done - t0),
        "machine_busy_before_pct": busy_before,
        "cpu": meter.stop(),
        "profile": profiler.stop(),
    }


def run_sluice(args: argparse.Namespace, concurrency: int | None) -> dict[str, Any]:
    """With `concurrency` calls at once (the peers' worker processes: each call has a
    function process of its own), or the product's default when None."""
    env = {"SLUICE_SYNC": "FULL"}
    if concurrency is not None:
        env["SLUICE_NAMESPACE_CONCURRENCY"] = str(concurrency)
    out: dict[str, Any] = {}
    with running_server(env, args) as server:
        assert server.process is not None
        api = Api(server)

        pid = server.process.pid

        async def both() -> None:
            for name, kind_name, code, _ in KINDS.values():
                await api.put_action(name, kind_name, code)
            for kind in ("python", "node"):
                log(f"throughput: {args.calls} no-op {kind} calls end to end")
                label = "defaults" if concurrency is None else f"{concurrency}-at-once"
                out[kind] = await one_kind(api, kind, pid, label, args)

        uvloop.run(both())
    return out


def run_peers(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    why = None
    if not args.peers_dir.is_dir():
        why = f"no peers harness at {args.peers_dir}"
    elif not peers.redis_up():
        why = "no Redis at 127.0.0.1:6379"
    else:
        why = peers.ensure_venv(args.peers_dir)
    for lib in args.peers.split(","):
        if why:
            out[lib] = {"error": why}
            continue
        asyncio.run(quiet(args))
        log(f"throughput: peer {lib}, {args.calls} no-op jobs")
        out[lib] = peers.run_peer(args.peers_dir, lib, args.calls, budget=100.0)
    return out


def run(args: argparse.Namespace, report: Report) -> None:
    results = {
        "sluice": run_sluice(args, args.workers),
        "sluice_defaults": run_sluice(args, None),
        "peers": run_peers(args),
    }
    report.results["throughput"] = results
    report.rows += rows(results, args)


def rows(results: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    out: list[Row] = []
    rates = {
        lib: f["jobs_per_s"]
        for lib, f in results["peers"].items()
        if "jobs_per_s" in f and f.get("complete")
    }
    best = max(rates, key=lambda lib: rates[lib]) if rates else None
    reference = f"fastest peer: {best} {fmt_rate(rates[best], ' jobs/s')}" if best else ""
    for key, how in (
        ("sluice", f"{args.workers} calls at once (SLUICE_NAMESPACE_CONCURRENCY)"),
        ("sluice_defaults", "product defaults (32 calls at once per namespace)"),
    ):
        for kind, label in (("python", "Python"), ("node", "Node.js")):
            f = results[key].get(kind)
            if f:
                ok = at_least(f["calls_per_s"], 2 * rates[best]) if best else None
                out.append(
                    Row(
                        "2 throughput",
                        f"Sluice: {f['calls']:,} no-op {label} calls, accept -> all "
                        f"finished, {how}, SLUICE_SYNC=FULL",
                        fmt_rate(f["calls_per_s"], " calls/s"),
                        reference=reference,
                        target=">= 2x the fastest peer" if key == "sluice" else "",
                        verdict=verdict(ok) if key == "sluice" else "",
                        notes=_notes(f, args),
                    )
                )
    for lib, f in results["peers"].items():
        name = peers.DESCRIPTION.get(lib, lib)
        if "error" in f:
            out.append(Row("2 throughput", f"peer: {name}", "skipped", notes=f["error"]))
            continue
        partial = "" if f.get("complete") else f"PARTIAL {f.get('done')}/{f.get('n')}; "
        out.append(
            Row(
                "2 throughput",
                f"peer: {name}, {f.get('n', 0):,} no-op jobs",
                fmt_rate(f.get("jobs_per_s"), " jobs/s"),
                reference="bench-peers README (2026-11-23): Dramatiq 3,116, huey 2,763",
                notes=f"{partial}{f.get('workers', '')}; enqueue {f.get('enqueue_per_s')}/s",
            )
        )
    return out


def _notes(f: dict[str, Any], args: argparse.Namespace) -> str:
    errors = sum(f["errors"].values())
    return (
        f"{f['finished']}/{f['calls']} finished in {f['total_s']:.1f} s"
        + (f", {errors} refused {f['errors']}" if errors else "")
        + f"; sent in {f['submit_s']:.1f} s over {args.submitters} conns; "
        + cpu_note(f["cpu"])
        + cpu_per_call(f["cpu"], f["finished"])
    )


def cpu_per_call(cpu: dict[str, float], calls: int) -> str:
    """CPU per call of the server, its function processes and the bench's client, and the
    rate at which they alone would fill every core: the bound that CPU puts on the figure."""
    if calls <= 0:
        return ""
    parts = {k: cpu[f"{k}_cpu_s"] / calls * 1e6 for k in ("server", "functions", "bench")}
    total = sum(parts.values())
    ceiling = f"; all cores busy at {fmt_rate(NPROC * 1e6 / total, ' calls/s')}" if total else ""
    return (
        f"; CPU per call: server {parts['server']:.0f} us, functions "
        f"{parts['functions']:.0f} us, client {parts['bench']:.0f} us{ceiling}"
    )
