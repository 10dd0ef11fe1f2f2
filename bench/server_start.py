"""Seconds from `sluice serve` to its first answer, with the worker process (the default)
and in one process (SLUICE_WORKER_PROCESS=0), in turn (issue 25: a server that accepts
apart from running must start no slower; the test suite starts many).

    .venv/bin/python -m bench.server_start --rounds 5
    PYTHONPATH=/path/to/other/src .venv/bin/python -m bench.server_start   # another tree

Each start is a fresh data dir and HOME; the server is stopped before the next one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.server import SluiceServer

CASES = {"worker process (default)": {}, "one process": {"SLUICE_WORKER_PROCESS": "0"}}


def start_seconds(env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as root:
        server = SluiceServer(Path(root), extra_env=env)
        started = time.monotonic()
        server.start()
        took = time.monotonic() - started
        server.close()
        return took


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    took: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.rounds):
        for name, env in CASES.items():
            took[name].append(start_seconds(env))
    print(f"load average {os.getloadavg()[0]:.1f} at the end; seconds to ready:")
    for name, seconds in took.items():
        each = " ".join(f"{s:.2f}" for s in sorted(seconds))
        print(f"  {name}: median {statistics.median(seconds):.2f} ({each})")


if __name__ == "__main__":
    main()
