"""Section 3: warm invoke overhead. Sequential blocking invokes of a no-op (Node.js and
Python) over one keep-alive connection, minus the round trip of a hello-world ASGI app on
the same stack (uvicorn, uvloop, httptools) measured the same way in the same run."""

from __future__ import annotations

import argparse
from typing import Any

import uvloop

from bench.core import (
    KINDS,
    Api,
    Invoke,
    create_actions,
    floor_server,
    invoke_figures,
    parse_invoke,
    running_server,
    timed_loop,
)
from bench.loadgen import HttpClient, now
from bench.machine import CpuMeter
from bench.stats import fmt_ms, summary_ms
from bench.suite.common import HOST, Report, cpu_note, log, quiet
from bench.suite.table import Row, at_most, latency_cells, latency_row, verdict

TARGET_MS = 1.0


async def _hello(port: int, args: argparse.Namespace) -> dict[str, Any]:
    client = HttpClient(HOST, port, {"Content-Type": "application/json"})
    deadline = now() + args.phase_timeout

    async def one(_: int) -> float:
        return (await client.request("POST", "/hello", b"{}")).elapsed

    await timed_loop(20, deadline, one)
    await quiet(args)
    rtt = await timed_loop(args.n, deadline, one)
    client.close()
    return {"rtt_ms": summary_ms(rtt)}


async def _invokes(api: Api, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    await create_actions(api)
    out: dict[str, Any] = {}
    for kind, (name, *_) in KINDS.items():
        deadline = now() + args.phase_timeout

        async def one(_: int, name: str = name) -> Invoke:
            return parse_invoke(await api.invoke(name, blocking=True))

        log(f"warm: {args.n} sequential blocking invokes of the {kind} no-op")
        await timed_loop(20, deadline, one)
        await quiet(args)
        meter = CpuMeter(pid).start()
        figures = invoke_figures(await timed_loop(args.n, deadline, one))
        figures["cpu"] = meter.stop()
        out[kind] = figures
    api.http.close()
    return out


def run(args: argparse.Namespace, report: Report) -> None:
    with floor_server() as (port, _):
        log(f"warm: {args.n} sequential requests to a hello-world ASGI app")
        hello = uvloop.run(_hello(port, args))
    with running_server({}, args) as server:
        assert server.process is not None
        invokes = uvloop.run(_invokes(Api(server), server.process.pid, args))
    results = {"hello": hello, **invokes}
    report.results["warm"] = results
    report.rows += rows(results)


def overhead(invoke: dict[str, float], hello: dict[str, float], key: str) -> float | None:
    if key not in invoke or key not in hello:
        return None
    return invoke[key] - hello[key]


def rows(results: dict[str, Any]) -> list[Row]:
    hello = results["hello"]["rtt_ms"]
    out = [
        latency_row(
            "3 warm",
            "hello-world ASGI round trip (uvicorn+uvloop+httptools, sequential POST)",
            hello,
            reference="bench-peers: hello p50 0.26 ms, p99 0.48 ms (open loop)",
            notes=f"n={hello.get('n')}",
        )
    ]
    for kind, label in (("node", "Node.js"), ("python", "Python")):
        f = results.get(kind)
        if not f:
            continue
        rtt = f["rtt_ms"]
        p50 = overhead(rtt, hello, "p50")
        p99 = overhead(rtt, hello, "p99")
        out.append(
            Row(
                "3 warm",
                f"Sluice blocking invoke of a {label} no-op, minus the hello round trip",
                f"overhead p50 {fmt_ms(p50)}, p99 {fmt_ms(p99)}",
                *latency_cells(rtt),
                reference=f"hello round trip p50 {fmt_ms(hello.get('p50'))}",
                target=f"overhead p50 <= {TARGET_MS:g} ms",
                verdict=verdict(at_most(p50, TARGET_MS)),
                notes=f"{f['ok']}/{f['n']} 200; p50/p99/max are the whole round trip; "
                f"activation duration p50 {fmt_ms(f['duration_ms'].get('p50'))} (1 ms grain); "
                + cpu_note(f["cpu"]),
            )
        )
    return out
