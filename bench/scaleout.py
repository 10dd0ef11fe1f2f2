"""Scale-out figures (issue 8) over PostgreSQL + NATS JetStream, processes on this machine
(tests/support/cluster.py: SLUICE_SANDBOX=none, lease 3 s), a fresh database and stream each.

    .venv/bin/python -m bench.scaleout                    # both sections, ~10 min
    .venv/bin/python -m bench.scaleout --only throughput --workers 2 --calls 1000
    .venv/bin/python -m bench.scaleout --only backlog --backlog 100000

throughput: an API process, N worker processes (1, 2, 4) and a scheduler; N non-blocking
invokes of a Python no-op over 16 keep-alive connections, timed from the first send until
every call has ended (counted in PostgreSQL), and the accept latency (p50/p99 of the 202)
while they are sent.

backlog: an API process and no worker; the accept latency of 2,000 sequential non-blocking
invokes over one connection (after 200 unmeasured) with nothing queued, then again with
`--backlog` calls queued (1,000,000: rows cloned in PostgreSQL, a message each in the stream).

Needs PostgreSQL and nats-server (started when installed but down). Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats
import psycopg
from tests.support.cluster import Host, running_cluster
from tests.support.nats import machine_nats
from tests.support.postgres import create_database, drop_database, postgres_unavailable
from tests.support.server import SluiceServer, put_action

from bench.stats import percentile
from sluice.ids import CallId
from sluice.queue.jetstream import Names, message_body
from sluice.store.base import Candidate
from sluice.store.postgres.migrate import migrate

NOOP = "def main(args):\n    return {}\n"
CONNECTIONS = 16


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _ended(pg: str) -> int:
    with psycopg.connect(pg) as conn:
        row = conn.execute(
            "SELECT count(*) FROM calls WHERE state NOT IN ('queued', 'running')"
        ).fetchone()
    return int(row[0]) if row else 0


async def _send(api: SluiceServer, calls: int) -> list[float]:
    """Submit `calls` invokes over CONNECTIONS connections; each accept's latency in ms."""
    latencies: list[float] = []
    left = iter(range(calls))
    url = api.ns_path("actions/noop?blocking=false")
    async with httpx.AsyncClient(
        base_url=api.url,
        auth=tuple(api.auth.split(":", 1)),
        timeout=60,  # type: ignore[arg-type]
    ) as client:

        async def one_connection() -> None:
            for _ in left:
                started = time.perf_counter()
                response = await client.post(url, json={})
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 202:
                    raise RuntimeError(f"invoke answered {response.status_code}: {response.text}")

        await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS)))
    return latencies


def measure(workers: int, calls: int, nats_url: str) -> dict[str, float]:
    pg = create_database("sluice_bench")
    try:
        asyncio.run(migrate(pg))
        with tempfile.TemporaryDirectory(prefix="sluice-scaleout-") as root:
            hosts = [Host() for _ in range(workers)]
            with running_cluster(Path(root), nats_url, pg, workers=hosts) as cluster:
                log(f"{workers} worker process(es): cluster up")
                return _run(cluster.api, workers, calls, pg)
    finally:
        drop_database(pg)


def _run(api: SluiceServer, workers: int, calls: int, pg: str) -> dict[str, float]:
    with api.client() as c:
        assert put_action(c, "noop", NOOP, kind="python:3").status_code == 200
        c.post(api.ns_path("actions/noop?blocking=true"), json={})  # warm the stem cells
    before = _ended(pg)
    started = time.perf_counter()
    latencies = asyncio.run(_send(api, calls))
    sent = time.perf_counter() - started
    while _ended(pg) < before + calls:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    return {
        "workers": workers,
        "calls": calls,
        "calls_per_s": calls / elapsed,
        "send_s": sent,
        "accept_p50_ms": percentile(latencies, 50),
        "accept_p99_ms": percentile(latencies, 99),
    }


def _accept_latencies(api: SluiceServer, count: int) -> list[float]:
    latencies = []
    with api.client() as c:
        for _ in range(count):
            started = time.perf_counter()
            r = c.post(api.ns_path("actions/noop?blocking=false"), json={})
            latencies.append((time.perf_counter() - started) * 1000)
            if r.status_code != 202:
                raise RuntimeError(f"invoke answered {r.status_code}: {r.text}")
    return latencies


def _prefill_store(pg: str, count: int) -> None:
    """`count` clones of a queued call, under fresh ids, in transactions of 100,000."""
    with psycopg.connect(pg, autocommit=True) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'calls' ORDER BY ordinal_position"
            ).fetchall()
        ]
        rest = ", ".join(column for column in columns if column != "id")
        template = conn.execute("SELECT id FROM calls WHERE state = 'queued' LIMIT 1").fetchone()
        assert template is not None
        for start in range(0, count, 100_000):
            conn.execute(
                f"INSERT INTO calls (id, {rest}) SELECT decode(md5(g::text || 'backlog'), 'hex'),"
                f" {rest} FROM calls, generate_series(%s::bigint, %s::bigint) g"
                " WHERE calls.id = %s",
                (start + 1, min(start + 100_000, count), template[0]),
            )
            log(f"backlog: {min(start + 100_000, count)} calls in the store")


async def _prefill_stream(pg: str, nats_url: str, names: Names) -> None:
    """One message per queued call, as the API would have published."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    published = 0
    try:
        with psycopg.connect(pg) as conn, conn.cursor(name="queued") as cursor:
            cursor.execute("SELECT id FROM calls WHERE state = 'queued'")
            for (raw,) in cursor:
                call_id = CallId(bytes(raw))
                candidate = Candidate(call_id, "guest", 256, "noop")
                await js.publish_async(
                    names.subject("", call_id),
                    message_body(candidate),
                    stream=names.stream,
                    headers={"Nats-Msg-Id": call_id.hex},
                    wait_stall=30,
                )
                published += 1
                if published % 100_000 == 0:
                    log(f"backlog: {published} messages in the stream")
        await js.publish_async_completed()
    finally:
        await nc.close()


def backlog(count: int, nats_url: str) -> dict[str, float]:
    pg = create_database("sluice_bench")
    try:
        asyncio.run(migrate(pg))
        with (
            tempfile.TemporaryDirectory(prefix="sluice-scaleout-") as root,
            running_cluster(Path(root), nats_url, pg, schedulers=0, workers=[]) as cluster,
        ):
            api = cluster.api
            with api.client() as c:
                assert put_action(c, "noop", NOOP, kind="python:3").status_code == 200
            _accept_latencies(api, 200)  # warm-up, unmeasured
            empty = _accept_latencies(api, 2000)
            log("backlog 0 measured; filling the queue")
            _prefill_store(pg, count)
            stream = api.extra_env["SLUICE_NATS_STREAM"]
            names = Names(stream, api.extra_env["SLUICE_NATS_PREFIX"])
            asyncio.run(_prefill_stream(pg, nats_url, names))
            full = _accept_latencies(api, 2000)
    finally:
        drop_database(pg)
    return {
        "backlog": count,
        "empty_p50_ms": percentile(empty, 50),
        "empty_p99_ms": percentile(empty, 99),
        "full_p50_ms": percentile(full, 50),
        "full_p99_ms": percentile(full, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=["throughput", "backlog"])
    parser.add_argument("--workers", type=int, action="append", help="repeatable; 1, 2, 4")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    args = parser.parse_args()
    why = postgres_unavailable()
    nats_url = machine_nats()
    if why is not None or nats_url is None:
        sys.exit(f"bench/scaleout needs PostgreSQL and nats-server: {why or 'no nats-server'}")
    sections = args.only or ["throughput", "backlog"]
    print(f"scale-out on {len(os.sched_getaffinity(0))} CPUs, PostgreSQL + JetStream")
    if "throughput" in sections:
        rows = [measure(n, args.calls, nats_url) for n in args.workers or [1, 2, 4]]
        print("| worker processes | calls | end-to-end calls/s | accept p50 ms | accept p99 ms |")
        print("|---|---|---|---|---|")
        for row in rows:
            print(
                f"| {row['workers']:.0f} | {row['calls']:.0f} | {row['calls_per_s']:.0f} |"
                f" {row['accept_p50_ms']:.2f} | {row['accept_p99_ms']:.2f} |",
                flush=True,
            )
    if "backlog" in sections:
        figures = backlog(args.backlog, nats_url)
        print("| queued calls | accept p50 ms | accept p99 ms |")
        print("|---|---|---|")
        print(f"| 0 | {figures['empty_p50_ms']:.2f} | {figures['empty_p99_ms']:.2f} |")
        print(f"| {args.backlog:,} | {figures['full_p50_ms']:.2f} | {figures['full_p99_ms']:.2f} |")


if __name__ == "__main__":
    main()
