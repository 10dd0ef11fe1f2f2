"""The platform secret on a first start: the API process and its worker process (or any
processes sharing the data dir) make it at the same moment and all read one whole secret."""

from __future__ import annotations

import multiprocessing
import stat
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from sluice.bootstrap import platform_secret

PROCESSES = 6


def _read(data_dir: Path, start: Barrier, out: Queue[bytes]) -> None:
    start.wait()
    out.put(platform_secret(data_dir))


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    context = multiprocessing.get_context("fork")
    start = context.Barrier(PROCESSES)
    out: Queue[bytes] = context.Queue()
    processes = [
        context.Process(target=_read, args=(data_dir, start, out)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    secrets = [out.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert len(set(secrets)) == 1
    assert len(secrets[0]) == 64
    assert stat.S_IMODE((data_dir / "secret").stat().st_mode) == 0o600
    assert [path.name for path in data_dir.iterdir()] == ["secret"]  # nothing left aside
    assert platform_secret(data_dir) == secrets[0]
