"""Sluice's core speed figures, measured against a real `sluice serve` on this machine.

    .venv/bin/python bench/core.py                       # everything (~5 min)
    .venv/bin/python bench/core.py --only accept --rate 1000 --seconds 10
    .venv/bin/python bench/core.py --only warm --only cold --json

Measurements (bench/README.md says what each figure means):

- floor: the open-loop load against a bare ASGI app (what generator + HTTP server cost);
- accept: open-loop non-blocking invokes at a fixed rate, latency counted from each request's
  due time; once with SLUICE_SYNC=FULL and once with NORMAL (a fresh server each), then the
  time until every accepted call has run (drain), then a closed-loop ceiling;
- warm: sequential blocking invokes of a no-op Node.js and Python action;
- cold: update the action (a new version, so a new process) then one blocking invoke.

Each server is started on a free port of 127.0.0.1 with a temporary data dir and HOME, and
stopped at the end (SIGTERM, then kill after 10 s). Every loop has a count and a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
import uvloop

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.server import SLUICE, SluiceServer, free_port  # noqa: E402

from bench.loadgen import (  # noqa: E402
    HttpClient,
    OpenLoop,
    Response,
    build_request,
    closed_loop,
    now,
)
from bench.machine import CpuMeter, machine_facts, wait_until_quiet  # noqa: E402
from bench.profile import find_py_spy, finish_profile, start_profile, summarise  # noqa: E402
from bench.stats import fmt_ms, fmt_rate, summary_ms  # noqa: E402
from bench.suite.table import Row  # noqa: E402
from sluice.records import TERMINAL_STATES  # noqa: E402

T = TypeVar("T")
HOST = "127.0.0.1"
#: environment the server keeps from ours (the test harness gives it a minimal one)
PASS_THROUGH = ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "npm_config_cafile")
NPROC = len(os.sched_getaffinity(0))
NODE = ("noop", "nodejs:default", "function main(a){return {}}", "//")
PYTHON = ("noop-py", "python:3", "def main(a):\n    return {}", "#")
KINDS = {"node": NODE, "python": PYTHON}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The server -------------------------------------------------------------------------------


@contextmanager
def running_server(
    env: dict[str, str], args: argparse.Namespace, root: Path | None = None
) -> Iterator[SluiceServer]:
    """A `sluice serve` on a free port, stopped on the way out: with a fresh temp data dir
    and HOME (removed afterwards unless --keep), or those under `root` (kept: a restart)."""
    keep = args.keep or root is not None
    root = root or Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    # the product's default lease (the test harness shortens it to 3 s)
    extra = dict(item.split("=", 1) for item in args.server_env)
    # the server's first start may run `npm install`: it needs this machine's CA settings
    passed = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    server = SluiceServer(root, extra_env={**passed, "SLUICE_LEASE_SECONDS": "30", **extra, **env})
    try:
        started = time.monotonic()
        start_server(server, args.start_timeout)
        log(f"sluice serve up on port {server.port} in {time.monotonic() - started:.1f} s ({env})")
        yield server
    finally:
        stop_server(server)
        if keep:
            log(f"kept {root} (server log: {server.log_path})")
        else:
            server.close()  # with SLUICE_TEST_STORE=postgresql://...: drops its database
            shutil.rmtree(root, ignore_errors=True)


def start_server(server: SluiceServer, timeout: float) -> None:
    """Start and read the guest key; without a client config (no first-start namespace),
    make a namespace of our own with the admin command instead."""
    try:
        server.start(timeout=timeout)
    except FileNotFoundError:
        log(f"no client config at {server.client_config}: creating namespace 'bench'")
        made = subprocess.run(
            [str(SLUICE), "namespace", "create", "bench"],
            env=server.server_env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        server.auth = made.stdout.strip().splitlines()[-1]
        server.namespace = "bench"


def stop_server(server: SluiceServer) -> None:
    if server.process is None or server.process.poll() is not None:
        return
    try:
        server.stop(timeout=10)
    except subprocess.TimeoutExpired:
        log("server did not stop within 10 s of SIGTERM: killing it")
        server.kill()


class Api:
    """The few Sluice routes the bench uses, over one keep-alive connection."""

    def __init__(self, server: SluiceServer) -> None:
        token = base64.b64encode(server.auth.encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.port = server.port
        self.http = HttpClient(HOST, server.port, self.headers)

    def invoke_request(self, name: str, blocking: bool) -> bytes:
        path = f"/api/v1/namespaces/_/actions/{name}?blocking={str(blocking).lower()}"
        return build_request("POST", path, HOST, self.port, b"{}", self.headers)

    async def put_action(self, name: str, kind: str, code: str) -> Response:
        body = orjson.dumps({"exec": {"kind": kind, "code": code}})
        path = f"/api/v1/namespaces/_/actions/{name}?overwrite=true"
        response = await self.http.request("PUT", path, body)
        if response.status != 200:
            raise RuntimeError(f"PUT {name}: HTTP {response.status} {response.body[:300]!r}")
        return response

    async def invoke(self, name: str, blocking: bool = True) -> Response:
        path = f"/api/v1/namespaces/_/actions/{name}?blocking={str(blocking).lower()}"
        return await self.http.request("POST", path, b"{}")

    async def count(self, name: str) -> int:
        response = await self.http.request(
            "GET", f"/api/v1/namespaces/_/activations?count=true&name={name}"
        )
        return int(orjson.loads(response.body)["activations"])

    async def wait_count(self, name: str, expected: int, deadline: float) -> int:
        """Poll the finished-activations count until it reaches `expected` or the deadline."""
        while True:
            count = await self.count(name)
            if count >= expected or now() > deadline:
                return count
            await asyncio.sleep(0.05)

    async def wait_call(self, call_id: str, deadline: float) -> str:
        """Long-poll a call's live state until it has ended (or the deadline); its state."""
        state = "unknown"
        while now() < deadline:
            wait = max(min(30.0, deadline - now()), 0.0)
            path = f"/sluice/v1/namespaces/_/calls/{call_id}?wait={wait:.1f}"
            response = await self.http.request("GET", path, time_limit=wait + 30)
            state = str(orjson.loads(response.body).get("state", "unknown"))
            if state in TERMINAL_STATES:
                break
        return state

    async def activation(self, call_id: str) -> dict[str, Any]:
        response = await self.http.request("GET", f"/api/v1/namespaces/_/activations/{call_id}")
        return dict(orjson.loads(response.body)) if response.status == 200 else {}


def annotation(record: dict[str, Any], key: str) -> Any:
    for item in record.get("annotations", []):
        if item.get("key") == key:
            return item.get("value")
    return None


async def create_actions(api: Api) -> None:
    for name, kind, code, _ in (NODE, PYTHON):
        await api.put_action(name, kind, code)


# Accept ------------------------------------------------------------------------------------


async def accept_phase(server: SluiceServer, args: argparse.Namespace) -> dict[str, Any]:
    api = Api(server)
    await create_actions(api)
    name = NODE[0]
    first = await api.invoke(name, blocking=True)  # the function's process exists before load
    expected = 1 if first.status == 200 else 0
    request = api.invoke_request(name, blocking=False)
    if args.warmup > 0:
        warm = await OpenLoop(HOST, server.port, request, args.rate, args.warmup).run()
        expected += warm.ok
        await api.wait_count(name, expected, now() + args.drain_timeout)
    quiet = await asyncio.to_thread(wait_until_quiet, args.quiet_wait)
    assert server.process is not None
    meter_load = CpuMeter(server.process.pid).start()
    meter_all = CpuMeter(server.process.pid).start()
    before = await api.count(name)
    profiler = Profiler(args, server.process.pid, f"accept-{server.extra_env.get('SLUICE_SYNC')}")
    gc.collect()
    gc.disable()
    try:
        load = await OpenLoop(
            HOST, server.port, request, args.rate, args.seconds, 202, args.max_connections
        ).run()
    finally:
        gc.enable()
    t_end = now()
    cpu_load = meter_load.stop()
    profile = profiler.stop()
    done_during_load = await api.count(name) - before
    drain = await drain_phase(api, name, load.last_body, before + load.ok, args)
    cpu_all = meter_all.stop()
    ceiling = await ceiling_phase(server, request, args)
    t0 = load.t0
    t_done = drain["t_done"]
    calls = load.ok
    return {
        "rate": args.rate,
        "seconds": args.seconds,
        "planned": load.planned,
        "sent": load.sent,
        "accepted": load.ok,
        "errors": load.errors,
        "connections": load.connections,
        "retried": load.retried,
        "max_in_flight": load.max_in_flight,
        "pacer": load.pacer,
        "latency_ms": summary_ms(load.latencies),
        "service_ms": summary_ms(load.service),
        "lag_ms": summary_ms(load.lag),
        "achieved_rate": load.achieved_rate,
        "machine_busy_before_pct": quiet,
        "cpu_load": cpu_load,
        "cpu_load_and_drain": cpu_all,
        "done_during_load": done_during_load,
        "backlog_at_load_end": calls - done_during_load,
        "drain": {k: v for k, v in drain.items() if k != "t_done"},
        "end_to_end_rate": calls / (t_done - t0) if t_done > t0 else 0.0,
        "post_load_drain_rate": (
            (calls - done_during_load) / (t_done - t_end)
            if t_done > t_end and calls - done_during_load >= max(calls // 10, 1)
            else None  # too small a backlog to time a drain
        ),
        "server_cpu_us_per_call": 1e6 * cpu_all["server_cpu_s"] / calls if calls else None,
        "functions_cpu_us_per_call": 1e6 * cpu_all["functions_cpu_s"] / calls if calls else None,
        "profile": profile,
        "ceiling": ceiling,
    }


async def ceiling_phase(
    server: SluiceServer, request: bytes, args: argparse.Namespace
) -> dict[str, Any] | None:
    """Closed loop after the drain: the most accepts per second this server sustains."""
    if args.ceiling_seconds <= 0:
        return None
    quiet = await asyncio.to_thread(wait_until_quiet, args.quiet_wait)
    assert server.process is not None
    meter = CpuMeter(server.process.pid).start()
    c = await closed_loop(
        HOST, server.port, request, args.ceiling_connections, args.ceiling_seconds
    )
    return {
        "connections": c.concurrency,
        "seconds": c.seconds,
        "accepted": c.ok,
        "errors": c.errors,
        "throughput": c.throughput,
        "latency_ms": summary_ms(c.latencies),
        "machine_busy_before_pct": quiet,
        "cpu": meter.stop(),
    }


async def drain_phase(
    api: Api, name: str, last_body: bytes, expected: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Wait until every accepted call has run: the last one's state, then the count."""
    deadline = now() + args.drain_timeout
    last_id = orjson.loads(last_body)["activationId"] if last_body else ""
    state = await api.wait_call(last_id, deadline) if last_id else "none"
    count = await api.wait_count(name, expected, deadline)
    t_done = now()
    record = await api.activation(last_id) if last_id else {}
    return {
        "t_done": t_done,
        "last_call_state": state,
        "last_call_success": record.get("response", {}).get("success"),
        "finished": count,
        "expected": expected,
        "complete": count >= expected,
    }


class Profiler:
    """py-spy on the server for one measurement, when --py-spy is given (else does nothing)."""

    def __init__(self, args: argparse.Namespace, pid: int | None, label: str) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.out = Path(args.profile_dir or tempfile.gettempdir()) / f"sluice-{label}.raw"
        py_spy = find_py_spy(args.py_spy) if args.py_spy is not None else None
        if py_spy and pid is not None:
            gil = bool(getattr(args, "py_spy_gil", False))
            self.proc = start_profile(py_spy, pid, self.out, gil=gil)
            time.sleep(0.5)  # py-spy attaches

    def stop(self) -> dict[str, Any] | None:
        if self.proc is None:
            return None
        finish_profile(self.proc)
        if not self.out.exists():
            return {"error": f"py-spy wrote no {self.out}"}
        return {"file": str(self.out), **summarise(self.out)}


# Floor ----------------------------------------------------------------------------------


@contextmanager
def floor_server(
    app: str = "bench.floor_app:app",
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    cwd: Path = REPO,
) -> Iterator[tuple[int, int]]:
    """uvicorn (uvloop, httptools: Sluice's stack) serving `app` on a free port, run by
    `python` from `cwd` (another venv's interpreter serves an app of another project)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            python,
            *("-m", "uvicorn", app, "--host", HOST, "--port", str(port)),
            *("--loop", "uvloop", "--http", "httptools", "--log-level", "warning"),
            "--no-access-log",
        ],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the floor server did not start") from None
                time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def floor_phase(port: int, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    request = build_request("POST", "/x?blocking=false", HOST, port, b"{}", {"X-A": "b"})
    if args.warmup > 0:
        await OpenLoop(HOST, port, request, args.rate, args.warmup).run()
    quiet = await asyncio.to_thread(wait_until_quiet, args.quiet_wait)
    meter = CpuMeter(pid).start()
    gc.collect()
    gc.disable()
    try:
        load = await OpenLoop(
            HOST, port, request, args.rate, args.seconds, 202, args.max_connections
        ).run()
    finally:
        gc.enable()
    return {
        "cpu_load": meter.stop(),
        "planned": load.planned,
        "accepted": load.ok,
        "errors": load.errors,
        "connections": load.connections,
        "latency_ms": summary_ms(load.latencies),
        "lag_ms": summary_ms(load.lag),
        "achieved_rate": load.achieved_rate,
        "machine_busy_before_pct": quiet,
    }


# Warm and cold -----------------------------------------------------------------------------


async def timed_loop(
    count: int, deadline: float, step: Callable[[int], Awaitable[T | None]]
) -> list[T]:
    """Run `step(i)` for i < count while before `deadline`; keep what it returns."""
    out: list[T] = []
    for i in range(count):
        if now() > deadline:
            log(f"deadline reached after {i} of {count}")
            break
        value = await step(i)
        if value is not None:
            out.append(value)
    return out


@dataclass
class Invoke:
    rtt: float
    status: int
    duration_ms: float | None
    init_ms: float | None
    wait_ms: float | None


def parse_invoke(response: Response) -> Invoke:
    record: dict[str, Any] = {}
    if response.body[:1] == b"{":
        record = orjson.loads(response.body)
    return Invoke(
        response.elapsed,
        response.status,
        record.get("duration"),
        annotation(record, "initTime"),
        annotation(record, "waitTime"),
    )


def invoke_figures(runs: list[Invoke]) -> dict[str, Any]:
    ok = [r for r in runs if r.status == 200]
    durations = [r.duration_ms / 1000 for r in ok if r.duration_ms is not None]
    inits = [r.init_ms / 1000 for r in ok if r.init_ms is not None]
    waits = [r.wait_ms / 1000 for r in ok if r.wait_ms is not None]
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    return {
        "n": len(runs),
        "ok": len(ok),
        "statuses": statuses,
        "rtt_ms": summary_ms([r.rtt for r in ok]),
        "duration_ms": summary_ms(durations),
        "init_ms": summary_ms(inits),
        "init_reported": len(inits),
        "wait_ms": summary_ms(waits),
    }


async def warm_phase(
    server: SluiceServer, api: Api, kind: str, args: argparse.Namespace
) -> dict[str, Any]:
    name = KINDS[kind][0]
    deadline = now() + args.phase_timeout

    async def one(_: int) -> Invoke:
        return parse_invoke(await api.invoke(name, blocking=True))

    await timed_loop(args.warm_up_n, deadline, one)
    assert server.process is not None
    profiler = Profiler(args, server.process.pid, f"warm-{kind}")
    meter = CpuMeter(server.process.pid).start()
    runs = await timed_loop(args.n, deadline, one)
    figures = invoke_figures(runs)
    figures["cpu"] = meter.stop()
    figures["profile"] = profiler.stop()
    return figures


async def http_floor(api: Api, n: int) -> dict[str, Any]:
    """Sequential `GET /` (no auth, no database): the HTTP stack's own round trip."""
    deadline = now() + 60

    async def one(_: int) -> float:
        return (await api.http.request("GET", "/")).elapsed

    await timed_loop(20, deadline, one)
    return {"rtt_ms": summary_ms(await timed_loop(n, deadline, one))}


async def cold_phase(
    server: SluiceServer, api: Api, kind: str, args: argparse.Namespace
) -> dict[str, Any]:
    name, kind_name, code, comment = KINDS[kind]
    deadline = now() + args.phase_timeout
    puts: list[float] = []
    stamp = int(time.time())

    async def one(i: int) -> Invoke:
        await asyncio.sleep(args.cold_gap)  # let the runtime settle (stem cells refilled)
        put = await api.put_action(name, kind_name, f"{code}\n{comment} bench {stamp} {i}\n")
        puts.append(put.elapsed)
        return parse_invoke(await api.invoke(name, blocking=True))

    assert server.process is not None
    meter = CpuMeter(server.process.pid).start()
    runs = await timed_loop(args.m, deadline, one)
    figures = invoke_figures(runs)
    figures["cpu"] = meter.stop()
    figures["update_rtt_ms"] = summary_ms(puts)
    figures["gap_s"] = args.cold_gap
    return figures


async def invoke_phases(server: SluiceServer, args: argparse.Namespace) -> dict[str, Any]:
    api = Api(server)
    await create_actions(api)
    out: dict[str, Any] = {}
    if "warm" in args.only:
        out["http_floor"] = await http_floor(api, args.n)
        for kind in KINDS:
            log(f"warm: {args.n} sequential blocking invokes of the {kind} no-op")
            out[f"warm_{kind}"] = await warm_phase(server, api, kind, args)
    if "cold" in args.only:
        for kind in KINDS:
            log(f"cold: {args.m} updates + blocking invokes of the {kind} no-op")
            out[f"cold_{kind}"] = await cold_phase(server, api, kind, args)
    api.http.close()
    return out


# The table ---------------------------------------------------------------------------------


REFERENCE = {
    "FULL": "FastAPI+SQLite WAL FULL, 1000/s: p50 0.78 ms, p99 7.68 ms",
    "NORMAL": "FastAPI+SQLite WAL NORMAL, 1000/s: p50 0.45 ms, p99 4.94 ms",
    "drain": "no-op jobs end to end: Dramatiq 3.1k/s, huey 2.8k/s, Celery 611/s",
    "warm": "warm RTT to a process, pipe + JSON: 141 us; unix socket 50 us",
    "cold_node": "fork+exec node -e 0: 106 ms",
    "cold_python": "fork+exec python3 -c pass (venv): 15 ms",
    "ceiling_FULL": "FastAPI+SQLite NORMAL closed loop (wrk -c64): 3,316 req/s",
    "ceiling_NORMAL": "FastAPI+SQLite NORMAL closed loop (wrk -c64): 3,316 req/s",
    "http": "uvicorn hello: 29k req/s (wrk -c64), open loop floor p50 0.26 ms",
}


def _lat(figures: dict[str, Any]) -> tuple[str, str, str]:
    return fmt_ms(figures.get("p50")), fmt_ms(figures.get("p99")), fmt_ms(figures.get("max"))


def _machine(cpu: dict[str, float]) -> str:
    return (
        f"machine {cpu['machine_busy_pct']:.0f}% busy (of {100 * NPROC}%), not ours "
        f"{cpu['not_ours_pct']:.0f}% (kernel threads {cpu['kernel_pct']:.0f}%)"
    )


def floor_rows(f: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    errors = sum(f["errors"].values())
    return [
        Row(
            "accept",
            f"floor: open loop {args.rate:.0f}/s -> bare ASGI 202 (uvicorn, no Sluice)",
            f"{fmt_rate(f['achieved_rate'])} open loop",
            *_lat(f["latency_ms"]),
            notes=f"{f['accepted']}/{f['planned']} 202, {errors} errors; {f['connections']} conns; "
            f"generator lag p50 {fmt_ms(f['lag_ms'].get('p50'))} "
            f"p99 {fmt_ms(f['lag_ms'].get('p99'))}; {_machine(f['cpu_load'])}",
            reference="raw ASGI hello, C generator: p50 0.26 ms, p99 0.48 ms",
        )
    ]


def accept_rows(sync: str, a: dict[str, Any]) -> list[Row]:
    errors = sum(a["errors"].values())
    error_text = f"{errors} errors" + (f" {a['errors']}" if errors else "")
    cpu = a["cpu_load"]
    notes = (
        f"{a['accepted']}/{a['planned']} 202, {error_text}"
        + (f" ({a['retried']} resent after an idle-close race)" if a["retried"] else "")
        + "; "
        f"sent {a['achieved_rate']:.0f}/s over {a['connections']} conns "
        f"(max {a['max_in_flight']} in flight); generator lag p50 "
        f"{fmt_ms(a['lag_ms'].get('p50'))} p99 {fmt_ms(a['lag_ms'].get('p99'))}; "
        f"{_machine(cpu)}"
    )
    d = a["drain"]
    post = a["post_load_drain_rate"]
    drain_notes = (
        f"{d['finished']}/{d['expected']} finished; {a['done_during_load']} done during "
        f"the load, backlog {a['backlog_at_load_end']} at its end"
        + (f", drained at {fmt_rate(post)}" if post else "")
        + f"; server CPU {a['server_cpu_us_per_call']:.0f} us/call, function processes "
        f"{a['functions_cpu_us_per_call']:.0f} us/call"
    )
    rows = [
        Row(
            "accept",
            f"open loop {a['rate']:.0f}/s x {a['seconds']:.0f} s, SLUICE_SYNC={sync} -> 202",
            f"{fmt_rate(a['achieved_rate'])} open loop",
            *_lat(a["latency_ms"]),
            notes=notes,
            reference=REFERENCE[sync],
        ),
        Row(
            "drain",
            f"calls run end to end after the {sync} load (accept -> record)",
            fmt_rate(a["end_to_end_rate"], " calls/s"),
            notes=drain_notes,
            reference=REFERENCE["drain"],
        ),
    ]
    c = a.get("ceiling")
    if c:
        errors = sum(c["errors"].values())
        rows.append(
            Row(
                "accept",
                f"ceiling: closed loop, {c['connections']} connections, SLUICE_SYNC={sync}",
                fmt_rate(c["throughput"], " req/s"),
                *_lat(c["latency_ms"]),
                notes=f"{c['accepted']} 202 in {c['seconds']:.0f} s, {errors} errors; "
                f"{_machine(c['cpu'])}",
                reference=REFERENCE[f"ceiling_{sync}"],
            )
        )
    return rows


def invoke_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    if "http_floor" in results:
        h = results["http_floor"]["rtt_ms"]
        rows.append(
            Row(
                "warm",
                "HTTP floor: sequential GET / (no auth, no DB)",
                fmt_ms(h.get("p50")),
                *_lat(h),
                notes=f"n={h.get('n')}",
                reference=REFERENCE["http"],
            )
        )
    for kind in KINDS:
        w = results.get(f"warm_{kind}")
        if w:
            rows.append(
                Row(
                    "warm",
                    f"blocking invoke round trip, {kind} no-op",
                    fmt_ms(w["rtt_ms"].get("p50")),
                    *_lat(w["rtt_ms"]),
                    notes=f"{w['ok']}/{w['n']} 200; activation duration p50 "
                    f"{fmt_ms(w['duration_ms'].get('p50'))} (1 ms grain), waitTime p50 "
                    f"{fmt_ms(w['wait_ms'].get('p50'))}; {_machine(w['cpu'])}",
                    reference=REFERENCE["warm"],
                )
            )
    for kind in KINDS:
        c = results.get(f"cold_{kind}")
        if c:
            rows.append(
                Row(
                    "cold",
                    f"update + first blocking invoke, {kind} no-op",
                    fmt_ms(c["rtt_ms"].get("p50")),
                    *_lat(c["rtt_ms"]),
                    notes=f"{c['ok']}/{c['n']} 200; initTime p50 {fmt_ms(c['init_ms'].get('p50'))} "
                    f"max {fmt_ms(c['init_ms'].get('max'))} ({c['init_reported']}/{c['ok']} "
                    f"reported it); update PUT p50 {fmt_ms(c['update_rtt_ms'].get('p50'))}; "
                    f"{c['gap_s']} s between runs; {_machine(c['cpu'])}",
                    reference=REFERENCE[f"cold_{kind}"],
                )
            )
    return rows


def markdown_table(rows: list[Row]) -> str:
    head = "| section | figure | result | p50 | p99 | max | notes | reference (bench-peers) |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r.section, r.figure, r.result, r.p50, r.p99, r.max, r.notes, r.reference]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def profile_lines(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for label, figures in results.items():
        profile = figures.get("profile") if isinstance(figures, dict) else None
        if not profile or "self_pct" not in profile:
            continue
        out += ["", f"py-spy, {label}: {profile['samples']} samples ({profile['file']})"]
        out += ["  self:"] + [f"    {pct:5.1f}%  {name}" for name, pct in profile["self_pct"][:12]]
        out += ["  inclusive:"]
        out += [f"    {pct:5.1f}%  {name}" for name, pct in profile["inclusive_pct"][:25]]
    return out


def text_report(facts: dict[str, Any], rows: list[Row], problems: list[str]) -> str:
    out = [
        f"Sluice core figures, {facts['date']} (commit {facts['git_commit']})",
        f"machine: {facts['nproc']} CPUs ({facts['cpu_model']}), {facts['memory_gib']} GiB; "
        f"Python {facts['python']}, SQLite {facts['sqlite']}, Node {facts['node']}; "
        f"load average at start {facts['loadavg']}",
        "",
        markdown_table(rows),
    ]
    if problems:
        out += ["", "Problems:", *[f"- {p}" for p in problems]]
    return "\n".join(out)


# Main --------------------------------------------------------------------------------------


def add_profile_options(p: argparse.ArgumentParser, during: str) -> None:
    """--py-spy [PATH] and --profile-dir, which Profiler reads."""
    p.add_argument(
        "--py-spy",
        nargs="?",
        const="",
        metavar="PATH",
        help=f"profile the server with py-spy (PATH, else from PATH) during {during}",
    )
    p.add_argument("--profile-dir", type=Path, help="where the py-spy profiles go (tmp)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rate", type=float, default=1000.0, help="accept: requests per second")
    p.add_argument("--seconds", type=float, default=10.0, help="accept: seconds of load")
    p.add_argument("--warmup", type=float, default=1.0, help="accept: seconds of warm-up load")
    p.add_argument(
        "--only",
        action="append",
        choices=["floor", "accept", "warm", "cold"],
        help="run only these measurements (repeatable); default all",
    )
    p.add_argument("--sync", action="append", choices=["FULL", "NORMAL"], help="accept runs")
    p.add_argument(
        "--ceiling-seconds", type=float, default=5.0, help="accept: closed-loop seconds (0: skip)"
    )
    p.add_argument("--ceiling-connections", type=int, default=32)
    p.add_argument("--n", type=int, default=500, help="warm: measured invokes per kind")
    p.add_argument("--warm-up-n", type=int, default=20, help="warm: unmeasured invokes first")
    p.add_argument("--m", type=int, default=10, help="cold: cold starts per kind")
    p.add_argument("--cold-gap", type=float, default=1.0, help="cold: seconds between runs")
    p.add_argument("--max-connections", type=int, default=512)
    p.add_argument("--drain-timeout", type=float, default=300.0)
    p.add_argument("--phase-timeout", type=float, default=300.0, help="warm/cold, per kind")
    p.add_argument("--start-timeout", type=float, default=300.0, help="server start (npm!)")
    p.add_argument("--quiet-wait", type=float, default=30.0, help="wait for a quiet machine")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for every server (e.g. SLUICE_STEM_CELLS=0)",
    )
    add_profile_options(p, "accept and warm")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--out", type=Path, help="also write the JSON to this file")
    p.add_argument("--keep", action="store_true", help="keep the temp dirs and server logs")
    args = p.parse_args(argv)
    args.only = args.only or ["floor", "accept", "warm", "cold"]
    args.sync = args.sync or ["FULL", "NORMAL"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine_facts(REPO)
    results: dict[str, Any] = {}
    rows: list[Row] = []
    problems: list[str] = []
    if "floor" in args.only:
        with floor_server() as (port, pid):
            log(f"floor: {args.rate:.0f}/s for {args.seconds:.0f} s against a bare ASGI app")
            results["floor"] = uvloop.run(floor_phase(port, pid, args))
        rows += floor_rows(results["floor"], args)
    if "accept" in args.only:
        for sync in args.sync:
            with running_server({"SLUICE_SYNC": sync}, args) as server:
                log(f"accept: {args.rate:.0f}/s for {args.seconds:.0f} s, SLUICE_SYNC={sync}")
                a = uvloop.run(accept_phase(server, args))
            results[f"accept_{sync}"] = a
            rows += accept_rows(sync, a)
            if not a["drain"]["complete"]:
                problems.append(f"{sync}: not every accepted call finished in time: {a['drain']}")
    if {"warm", "cold"} & set(args.only):
        with running_server({}, args) as server:
            invoke = uvloop.run(invoke_phases(server, args))
        results.update(invoke)
        rows += invoke_rows(invoke)
    report = {
        "machine": facts,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": results,
        "table": [asdict(r) for r in rows],
        "problems": problems,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(text_report(facts, rows, problems))
        print("\n".join(profile_lines(results)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
