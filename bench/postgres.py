"""Sluice with PostgreSQL as its store and queue: accept latency, end-to-end no-op throughput,
and accept latency with the call backlog at 0 and at --backlog queued calls.

    .venv/bin/python bench/postgres.py                        # ~3 min with a 1,000,000 backlog
    .venv/bin/python bench/postgres.py --backlog 100000 --seconds 5
    .venv/bin/python bench/postgres.py --part capped --calls 10000   # ~1 min

Each server gets a fresh database on the PostgreSQL of --admin (dropped afterwards), created
by `sluice serve --migrate`. The bench/core.py options (--rate, --seconds, --quiet-wait, ...)
apply. The backlog is written straight into the calls table (INSERT ... SELECT from
generate_series: queued calls of the no-op function) while the server runs with its workers
paused (SLUICE_WORKER_MEMORY_MB=0), so that the calls stay queued. PostgreSQL's own CPU
counts as "not ours" in the notes: on this machine it shares the two cores with the server.

The `capped` part (not run by default) is bench/suite/throughput.py's Python run on PostgreSQL
with SLUICE_NAMESPACE_CONCURRENCY=2: --calls no-op calls sent over --submitters connections
make a backlog that drains two at a time, so each call's end takes the next (the queue's take).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg
import uvloop

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.postgres import ADMIN_URL, create_database, drop_database  # noqa: E402

from bench import core  # noqa: E402
from bench.core import NODE, Api, accept_rows, log, running_server  # noqa: E402
from bench.loadgen import build_request  # noqa: E402
from bench.machine import machine_facts  # noqa: E402
from bench.suite import throughput  # noqa: E402
from bench.suite.common import HOST, cpu_note, load_note, open_loop_figures  # noqa: E402
from bench.suite.table import Row, latency_cells  # noqa: E402

PAUSED = {"SLUICE_WORKER_MEMORY_MB": "0"}
PARTS = ("end_to_end", "backlog", "capped")

#: queued calls of the no-op action, ids time-ordered like ULIDs (6 bytes of ms + 10 random)
_FILL = """
INSERT INTO calls (id, namespace, path, state, params, meta, memory_mb, created, visible_at)
SELECT substring(int8send(%(at)s + n / 1000) from 3)
       || substring(uuid_send(gen_random_uuid()) from 7),
       %(namespace)s, %(path)s, 'queued', '{}'::bytea, '{}'::bytea, 256, %(at)s, %(at)s
FROM generate_series(1, %(count)s) AS n
"""


class PostgresCpu:
    """CPU seconds the machine's PostgreSQL processes (server, backends, autovacuum) use from
    now on: their share of the "not ours" in the notes; with `database`, only the backends
    connected to it (other sessions' databases on the same server do not count). A process
    that ends in between takes its seconds since the start with it (an underestimate, never
    below zero)."""

    def __init__(self, database: str | None = None) -> None:
        self.database = database
        self.start = self._sample()

    def _sample(self) -> dict[tuple[int, float], float]:
        out = {}
        for proc in psutil.process_iter(["name", "cpu_times", "create_time", "cmdline"]):
            times = proc.info["cpu_times"]
            if proc.info["name"] != "postgres" or times is None:
                continue
            words = " ".join(proc.info["cmdline"] or []).split()
            if self.database is None or self.database in words:
                out[(proc.pid, proc.info["create_time"])] = times.user + times.system
        return out

    def seconds(self) -> float:
        return sum(cpu - self.start.get(key, 0.0) for key, cpu in self._sample().items())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--admin", default=ADMIN_URL, help="URL of an existing database to admin")
    p.add_argument("--backlog", type=int, default=1_000_000, help="queued calls for the scale run")
    p.add_argument("--out", type=Path, help="also write the JSON to this file")
    p.add_argument(
        "--part", action="append", choices=PARTS, help="repeatable; default: the first two"
    )
    p.add_argument("--calls", type=int, default=10_000, help="capped: calls per run")
    p.add_argument("--submitters", type=int, default=16, help="capped: client connections")
    ours, rest = p.parse_known_args(argv)
    args = core.parse_args(rest)
    args.admin, args.backlog, args.out = ours.admin, ours.backlog, ours.out
    args.part = ours.part or list(PARTS[:2])
    args.calls, args.submitters = ours.calls, ours.submitters
    return args


def _server_env(url: str, **extra: str) -> dict[str, str]:
    return {"SLUICE_STORE": url, "SLUICE_MIGRATE": "true", "SLUICE_SYNC": "FULL", **extra}


def end_to_end(args: argparse.Namespace) -> dict[str, Any]:
    """bench/core.py's accept phase (open loop, drain, closed-loop ceiling) on PostgreSQL."""
    url = create_database("sluice_bench", admin=args.admin)
    try:
        with running_server(_server_env(url), args) as server:
            log(f"postgres: accept {args.rate:.0f}/s for {args.seconds:.0f} s, then drain")
            meter = PostgresCpu()
            figures = uvloop.run(core.accept_phase(server, args))
            figures["postgres_cpu_s"] = meter.seconds()
            return figures
    finally:
        drop_database(url, admin=args.admin)


def fill(url: str, count: int) -> float:
    """Queue `count` calls of the no-op action; seconds it took."""
    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT namespace FROM calls WHERE path = %s LIMIT 1", (NODE[0],))
        found = row.fetchone()
        assert found is not None, "the no-op action has no call to copy the namespace of"
        args = {"at": int(time.time() * 1000), "namespace": found[0], "path": NODE[0]}
        for start in range(0, count, 200_000):
            conn.execute(_FILL, {**args, "count": min(200_000, count - start)})
        conn.execute("VACUUM ANALYZE calls")
    return time.monotonic() - t0


def backlog(args: argparse.Namespace) -> dict[str, Any]:
    """Open-loop accept with nothing queued, then with --backlog calls queued (workers
    paused, so the backlog stays), on one server and one database."""
    url = create_database("sluice_bench", admin=args.admin)
    out: dict[str, Any] = {}
    try:
        with running_server(_server_env(url, **PAUSED), args) as server:
            assert server.process is not None
            api = Api(server)
            uvloop.run(api.put_action(*NODE[:3]))
            request = build_request(
                "POST",
                f"/api/v1/namespaces/_/actions/{NODE[0]}?blocking=false",
                HOST,
                server.port,
                b"{}",
                api.headers,
            )
            pid = server.process.pid

            def measured() -> dict[str, Any]:
                meter = PostgresCpu()
                figures = uvloop.run(open_loop_figures(server.port, pid, request, args.rate, args))
                return {**figures, "postgres_cpu_s": meter.seconds()}

            log(f"postgres: accept {args.rate:.0f}/s with an empty queue, workers paused")
            out["0"] = measured()
            fill_s = fill(url, args.backlog)
            log(f"postgres: {args.backlog} calls queued in {fill_s:.1f} s")
            log(f"postgres: accept {args.rate:.0f}/s with {args.backlog} calls queued")
            out[str(args.backlog)] = {**measured(), "fill_s": fill_s}
    finally:
        drop_database(url, admin=args.admin)
    return out


def capped(args: argparse.Namespace) -> dict[str, Any]:
    """--calls no-op Python calls end to end, two at a time (a backlog drained by takes)."""
    url = create_database("sluice_bench", admin=args.admin)
    try:
        env = _server_env(url, SLUICE_NAMESPACE_CONCURRENCY="2")
        with running_server(env, args) as server:
            assert server.process is not None
            api, pid = Api(server), server.process.pid

            async def run() -> dict[str, Any]:
                await api.put_action(*core.PYTHON[:3])
                log(f"postgres: {args.calls} no-op Python calls, 2 at a time")
                meter = PostgresCpu(url.rsplit("/", 1)[1])
                figures = await throughput.one_kind(api, "python", pid, "postgres", args)
                return {**figures, "postgres_cpu_s": meter.seconds()}

            return uvloop.run(run())
    finally:
        drop_database(url, admin=args.admin)


def rows(results: dict[str, Any]) -> list[Row]:
    out = []
    if "end_to_end" in results:
        out += _end_to_end_rows(results["end_to_end"])
    for level, f in results.get("backlog", {}).items():
        out.append(
            Row(
                "scale",
                f"PostgreSQL: accept {f['rate']:.0f}/s with {int(level):,} calls queued, "
                "workers paused",
                f"{f['achieved_rate']:.0f}/s open loop",
                *latency_cells(f["latency_ms"]),
                notes=load_note(f)
                + f"; PostgreSQL used {f['postgres_cpu_s']:.1f} CPU-s over the warm-up and load"
                + (f"; backlog written in {f['fill_s']:.0f} s" if "fill_s" in f else ""),
            )
        )
    if "capped" in results:
        f = results["capped"]
        calls, cpu = max(f["finished"], 1), f["cpu"]
        out.append(
            Row(
                "throughput",
                f"PostgreSQL: {f['calls']:,} no-op Python calls, accept -> all finished, "
                "SLUICE_NAMESPACE_CONCURRENCY=2",
                f"{f['calls_per_s']:.0f} calls/s",
                notes=f"{f['finished']}/{f['calls']} finished in {f['total_s']:.1f} s; "
                f"server {1e6 * cpu['server_cpu_s'] / calls:.0f} us CPU/call, its PostgreSQL "
                f"backends {1e6 * f['postgres_cpu_s'] / calls:.0f} us CPU/call; {cpu_note(cpu)}",
            )
        )
    return out


def _end_to_end_rows(e2e: dict[str, Any]) -> list[Row]:
    pg_note = (
        f"; PostgreSQL CPU over the warm-up, load, drain and ceiling "
        f"{1e6 * e2e['postgres_cpu_s'] / max(e2e['accepted'], 1):.0f} us per accepted call"
    )
    return [
        dataclasses.replace(
            row,
            figure=f"PostgreSQL store+queue: {row.figure}",
            notes=row.notes + (pg_note if row.section == "drain" else ""),
        )
        for row in accept_rows("FULL", e2e)
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine_facts(REPO)
    parts = {"end_to_end": end_to_end, "backlog": backlog, "capped": capped}
    results = {name: parts[name](args) for name in PARTS if name in args.part}
    table = rows(results)
    report = {"machine": facts, "results": results, "table": [dataclasses.asdict(r) for r in table]}
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(core.text_report(facts, table, []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
