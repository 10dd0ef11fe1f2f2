"""The PostgreSQL queue's take alone, with a backlog at its namespace's cap.

    .venv/bin/python bench/pg_take.py                  # ~10 s: 10,000 queued, 2,000 takes
    .venv/bin/python bench/pg_take.py --queued 100000 --takes 5000

A fresh database on the PostgreSQL of --admin (dropped afterwards) holds --queued calls of one
namespace; the worker's real Capacity admits two of its calls at once and one runs already,
so each take (asked for 32, as the worker asks) leases one call, which is acked at once: what
each call's end costs a worker draining a backlog at SLUICE_NAMESPACE_CONCURRENCY=2. Printed
per take (with its ack): wall time, this process's CPU (Sluice's side), and the CPU of the
PostgreSQL backends serving this database.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

import psutil
import psycopg

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.postgres import ADMIN_URL, create_database, drop_database  # noqa: E402

from sluice.ids import CallId  # noqa: E402
from sluice.records import CallState, NewCall  # noqa: E402
from sluice.store.base import Candidate, Outcome, candidate_of  # noqa: E402
from sluice.store.postgres.db import PgDatabase  # noqa: E402
from sluice.store.postgres.ledger import PostgresLedger  # noqa: E402
from sluice.store.postgres.migrate import migrate  # noqa: E402
from sluice.worker.capacity import Capacity  # noqa: E402


def _backends_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to `database`."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and f" {database} " in f"{cmdline} ":
            total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(url: str, queued: int, takes: int) -> dict[str, float]:
    await migrate(url)
    db = PgDatabase(url)
    await db.open()
    try:
        queue = PostgresLedger(db, "bench")
        calls = [
            NewCall(CallId.new(), "ns", "act", {}, {}, 256, 1000 + i, 1000 + i)
            for i in range(queued)
        ]
        for start in range(0, queued, 1000):
            await queue.enqueue(*calls[start : start + 1000])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE calls")
        capacity = Capacity(100_000, per_namespace=2)
        capacity.admit(Candidate(CallId.new(), "ns", 256, "act"))  # one runs already
        database = url.rsplit("/", 1)[1]
        pg0, cpu0, t0 = _backends_cpu(database), _own_cpu(), time.perf_counter()
        for _ in range(takes):
            [lease] = await queue.take(5000, 60_000, 32, capacity.admit)
            await queue.ack(lease, Outcome(CallState.SUCCESS, {}, 6000))
            capacity.release(candidate_of(lease))
        wall, cpu = time.perf_counter() - t0, _own_cpu() - cpu0
        return {
            "wall_us": 1e6 * wall / takes,
            "sluice_cpu_us": 1e6 * cpu / takes,
            "postgres_cpu_us": 1e6 * (_backends_cpu(database) - pg0) / takes,
        }
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--admin", default=ADMIN_URL, help="URL of an existing database to admin")
    p.add_argument("--queued", type=int, default=10_000, help="calls queued at the start")
    p.add_argument("--takes", type=int, default=2_000, help="takes measured")
    args = p.parse_args(argv)
    url = create_database("sluice_bench", admin=args.admin)
    try:
        f = asyncio.run(measure(url, args.queued, args.takes))
    finally:
        drop_database(url, admin=args.admin)
    print(
        f"{args.takes} takes of 1 call, {args.queued} queued at a cap of 2: per take and ack "
        f"{f['wall_us']:.0f} us wall, Sluice CPU {f['sluice_cpu_us']:.0f} us, "
        f"PostgreSQL backends CPU {f['postgres_cpu_us']:.0f} us"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
