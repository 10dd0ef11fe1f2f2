"""Section 5: scale. Accept latency (open loop, 1,000/s) and the server's RSS with 0,
100,000 and 1,000,000 calls queued, the workers paused (SLUICE_WORKER_MEMORY_MB=0: no
capacity, so no call is taken); then activation get and a filtered list with 1,000,000
finished records stored. The database is filled between server runs by prefill.py."""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import uvloop

from bench.core import NODE, Api, running_server, timed_loop
from bench.loadgen import build_request, now
from bench.stats import fmt_ms, summary_ms
from bench.suite import prefill
from bench.suite.common import HOST, Report, load_note, log, open_loop_figures, quiet
from bench.suite.table import Row, at_most, latency_cells, latency_row, verdict

PAUSED = {"SLUICE_WORKER_MEMORY_MB": "0", "SLUICE_SYNC": "FULL"}
RATE = 1000.0
#: finished records are spread over these action names; the list filters on one of them
RECORD_PATHS = ["noop", *(f"noop-{i}" for i in range(1, 10))]
ACCEPT_RATIO, GET_MS, LIST_MS = 1.2, 2.0, 20.0


def _rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


async def _accept(port: int, pid: int, api: Api, args: argparse.Namespace) -> dict[str, Any]:
    name = NODE[0]
    request = build_request(
        "POST",
        f"/api/v1/namespaces/_/actions/{name}?blocking=false",
        HOST,
        port,
        b"{}",
        api.headers,
    )
    rss_before = _rss_mb(pid)
    figures = await open_loop_figures(port, pid, request, RATE, args)
    figures["rss_before_mb"] = rss_before
    figures["rss_after_mb"] = _rss_mb(pid)
    return figures


async def _reads(api: Api, ids: list[str], args: argparse.Namespace) -> dict[str, Any]:
    deadline = now() + args.phase_timeout
    statuses: dict[str, int] = {}

    async def get(i: int) -> float:
        answer = await api.http.request("GET", f"/api/v1/namespaces/_/activations/{ids[i]}")
        statuses[f"get {answer.status}"] = statuses.get(f"get {answer.status}", 0) + 1
        return answer.elapsed

    async def listing(_: int) -> float:
        path = f"/api/v1/namespaces/_/activations?name={RECORD_PATHS[3]}&limit=30"
        answer = await api.http.request("GET", path)
        statuses[f"list {answer.status}"] = statuses.get(f"list {answer.status}", 0) + 1
        return answer.elapsed

    random.shuffle(ids)
    await quiet(args)
    gets = await timed_loop(len(ids), deadline, get)
    lists = await timed_loop(min(200, args.n), deadline, listing)
    return {"get_ms": summary_ms(gets), "list_ms": summary_ms(lists), "statuses": statuses}


def run(args: argparse.Namespace, report: Report) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = _run(root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    report.results["scale"] = results
    report.rows += rows(results)


def _run(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"levels": {}}
    with running_server({}, args, root) as server:  # one real call, the clones' template
        api = Api(server)

        async def first() -> None:
            await api.put_action(*NODE[:3])
            for path in RECORD_PATHS[1:]:
                await api.put_action(path, *NODE[1:3])
            await api.invoke(NODE[0], blocking=True)

        uvloop.run(first())
        db = server.data_dir / "sluice.db"
    template = prefill.template(db, NODE[0])
    queued = 0
    for level in args.scale_levels:
        t0 = time.monotonic()
        uvloop.run(prefill.fill(db, template, [NODE[0]], level - queued, finished=False))
        log(f"scale: {level - queued} calls queued in {time.monotonic() - t0:.1f} s")
        queued = level
        with running_server(PAUSED, args, root) as server:
            assert server.process is not None
            log(f"scale: accept at {RATE:.0f}/s with {level} calls queued")
            figures = uvloop.run(_accept(server.port, server.process.pid, Api(server), args))
        figures["fill_s"] = time.monotonic() - t0
        results["levels"][str(level)] = figures
    top = max(args.scale_levels)
    t0 = time.monotonic()
    ids = uvloop.run(prefill.fill(db, template, RECORD_PATHS, top, finished=True, sample=500))
    log(f"scale: {top} finished records stored in {time.monotonic() - t0:.1f} s")
    with running_server(PAUSED, args, root) as server:
        assert server.process is not None
        reads = uvloop.run(_reads(Api(server), ids, args))
        reads["rss_mb"] = _rss_mb(server.process.pid)
    reads["records"] = top
    reads["db_mb"] = db.stat().st_size / 2**20
    results["reads"] = reads
    return results


def rows(results: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    levels = results["levels"]
    base = levels.get("0", {}).get("latency_ms", {}).get("p99")
    top = max(levels, key=int) if levels else None
    for level, f in levels.items():
        is_top = level == top and level != "0"
        limit = ACCEPT_RATIO * base if base else None
        out.append(
            Row(
                "5 scale",
                f"accept 1,000/s (OpenWhisk, FULL) with {int(level):,} calls queued, "
                "workers paused",
                f"RSS {f['rss_after_mb']:.0f} MiB",
                *latency_cells(f["latency_ms"]),
                reference=f"0 queued: p99 {fmt_ms(base)}" if level != "0" else "",
                target=f"p99 <= {ACCEPT_RATIO:g}x the 0-queued p99" if is_top else "",
                verdict=verdict(at_most(f["latency_ms"].get("p99"), limit)) if is_top else "",
                notes=load_note(f) + f"; RSS before the load {f['rss_before_mb']:.0f} MiB"
                "; queued also holds the calls earlier loads accepted",
            )
        )
    reads = results.get("reads")
    if reads:
        for key, what, limit in (
            ("get_ms", "activation get by id (random ids)", GET_MS),
            ("list_ms", f"activation list ?name={RECORD_PATHS[3]}&limit=30", LIST_MS),
        ):
            f = reads[key]
            out.append(
                latency_row(
                    "5 scale",
                    f"{what}, {reads['records']:,} records stored",
                    f,
                    target=f"p99 < {limit:g} ms",
                    verdict=verdict(at_most(f.get("p99"), limit)),
                    notes=f"n={f.get('n')}, sequential; {reads['statuses']}; database "
                    f"{reads['db_mb']:,.0f} MiB; server RSS {reads['rss_mb']:.0f} MiB",
                )
            )
    return out
