from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

from sluice.runtime.memory import MemoryWatch, _psutil_tree_rss, tree_rss
from tests.runtime.helpers import run, wait_until

# the child says "ready" once its 64 MiB are resident, so both readings see a still tree
GROW = "import time; data = b'x' * (64 << 20); print('ready', flush=True); time.sleep(30)"
PARENT = (
    "import subprocess, sys, time; "
    f"subprocess.Popen([sys.executable, '-c', {GROW!r}]); time.sleep(30)"
)


def test_tree_rss_counts_children() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], start_new_session=True, stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        ready, _, _ = select.select([parent.stdout], [], [], 10)
        assert ready, "the child did not allocate its memory within 10 s"
        assert parent.stdout.readline() == b"ready\n"
        total = tree_rss(parent.pid)
        assert total > 64 << 20
        assert abs(_psutil_tree_rss(parent.pid) - total) < 16 << 20
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.communicate()


def test_gone_process_has_no_memory() -> None:
    done = subprocess.Popen(["true"])
    done.wait()
    assert tree_rss(done.pid) == 0


def test_watch_calls_back_once_over_the_limit() -> None:
    async def scenario() -> None:
        watch = MemoryWatch(0.01)
        hits: list[str] = []
        watch.watch(os.getpid(), 1, lambda: hits.append("over"))
        watch.watch(1 << 22, 1, lambda: hits.append("gone"))  # no such process: 0 bytes
        await wait_until(lambda: hits, "the callback")
        await watch.close()
        assert hits == ["over"]

    run(scenario())
