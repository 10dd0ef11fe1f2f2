"""OpenFaaS's async route under load: accept latency of POST /async-function at a fixed
rate, first with idle workers, then with every worker slot taken by slow calls (the seed's
webhook story: the caller needs its 202 within a second even when Sluice is busy).

    .venv/bin/python bench/openfaas.py                      # 200/s for 10 s, twice (~1 min)
    .venv/bin/python bench/openfaas.py --rate 500 --seconds 20 --json

Open loop (bench/loadgen.py): request i is due at t0 + i/rate and its latency runs from
that due time to the end of the 202, so a stalled server is charged for every request it
held up. The slow calls are `sleep 600` process functions, enough of them to fill every worker slot
(SLUICE_WORKER_MEMORY_MB over their 256 MB, SLUICE_NAMESPACE_CONCURRENCY) with more
waiting behind; the
accepted calls then queue behind them, which is the point: accepting must not wait for
workers. The server runs with the product's defaults (SLUICE_SYNC=FULL: every 202 is
fsynced) on a free port with a temporary data dir, and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import Any

import orjson
import uvloop

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.server import SluiceServer  # noqa: E402

from bench.core import HOST, log, running_server  # noqa: E402
from bench.loadgen import HttpClient, OpenLoop, build_request  # noqa: E402
from bench.stats import fmt_ms, fmt_rate, summary_ms  # noqa: E402

SLOW = {"service": "bench-slow", "envProcess": "sleep 600", "envVars": {"exec_timeout": "15m"}}
FAST = {"service": "bench-echo", "envProcess": "cat"}


async def deploy(http: HttpClient, spec: dict[str, Any]) -> None:
    answer = await http.request("POST", "/system/functions", orjson.dumps(spec))
    if answer.status != 202:
        raise RuntimeError(f"deploy {spec['service']}: HTTP {answer.status} {answer.body!r}")


async def states(http: HttpClient, ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call_id in ids:
        answer = await http.request("GET", f"/async-function/{call_id}")
        state = orjson.loads(answer.body)["status"]
        counts[state] = counts.get(state, 0) + 1
    return counts


async def saturated(http: HttpClient, ids: list[str], seconds: float) -> int:
    """Wait until the slow calls fill every worker slot (some run, the rest stay queued,
    the running count steady); how many run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last = -1
    while loop.time() < deadline:
        counts = await states(http, ids)
        running = counts.get("running", 0)
        if running and counts.get("queued", 0) and running == last:
            return running
        last = running
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the workers were not saturated within {seconds:g} s: {counts}")


async def load(server: SluiceServer, args: argparse.Namespace) -> dict[str, Any]:
    text = {"Content-Type": "text/plain"}
    path = "/async-function/bench-echo"
    request = build_request("POST", path, HOST, server.port, b"hello", text)
    result = await OpenLoop(
        HOST, server.port, request, args.rate, args.seconds, 202, args.max_connections
    ).run()
    return {
        "accepted": result.ok,
        "planned": result.planned,
        "errors": result.errors,
        "achieved_rate": result.achieved_rate,
        "latency_ms": summary_ms(result.latencies),
        "lag_ms": summary_ms(result.lag),
    }


async def measure(server: SluiceServer, args: argparse.Namespace) -> dict[str, Any]:
    token = base64.b64encode(server.auth.encode()).decode()
    http = HttpClient(HOST, server.port, {"Authorization": f"Basic {token}"})
    await deploy(http, SLOW)
    await deploy(http, FAST)
    warm = await http.request("POST", "/function/bench-echo", b"warm")
    assert warm.status == 200, warm.body
    log(f"idle workers: {args.rate}/s for {args.seconds} s")
    idle = await load(server, args)
    slow_ids = []
    for _ in range(args.slow_calls):
        answer = await http.request("POST", "/async-function/bench-slow", b"")
        slow_ids.append(answer.headers["x-call-id"])
    busy_running = await saturated(http, slow_ids, 60)
    log(f"busy workers ({busy_running} slow calls running): {args.rate}/s for {args.seconds} s")
    busy = await load(server, args)
    # the figure stands only if every slot stayed taken through the whole load
    after = await states(http, slow_ids)
    if after.get("running", 0) != busy_running or not after.get("queued", 0):
        raise RuntimeError(f"the workers did not stay saturated during the load: {after}")
    cancelled = await http.request("DELETE", "/system/queue/bench-slow", b"")
    log(f"cancelled the queued slow calls: {cancelled.body.decode()}")
    for call_id in slow_ids:  # and the running ones, so that the server stops at once
        await http.request("DELETE", f"/async-function/{call_id}", b"")
    queued = after.get("queued", 0)
    return {"idle": idle, "busy": {**busy, "slow_running": busy_running, "slow_queued": queued}}


def report(figures: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"POST /async-function at {args.rate}/s for {args.seconds} s (open loop, SLUICE_SYNC=FULL)",
        "",
        "| workers | accepted | achieved | p50 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("idle", "busy"):
        f = figures[name]
        lat = f["latency_ms"]
        label = (
            "free (each accepted call runs `cat` at once)"
            if name == "idle"
            else f"saturated ({f['slow_running']} `sleep 600` calls running throughout,"
            f" {f['slow_queued']} more queued)"
        )
        lines.append(
            f"| {label} | {f['accepted']}/{f['planned']} | {fmt_rate(f['achieved_rate'])} "
            f"| {fmt_ms(lat.get('p50'))} | {fmt_ms(lat.get('p99'))} | {fmt_ms(lat.get('max'))} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load")
    parser.add_argument("--slow-calls", type=int, default=48, help="sleep-600 calls to queue")
    parser.add_argument("--max-connections", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the server's data dir")
    parser.add_argument("--start-timeout", type=float, default=180.0)
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="K=V", help="extra server setting"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with running_server({"SLUICE_SYNC": "FULL"}, args) as server:
        figures = uvloop.run(measure(server, args))
    print(json.dumps(figures, indent=2) if args.json else report(figures, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
