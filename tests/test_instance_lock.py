"""The data dir's lock: one server of every role, or one process per role, per data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sluice.errors import CannotStart
from sluice.instance_lock import DataDirInUse, DataDirLock


def _held_elsewhere(data_dir: Path, role: str, port: int) -> subprocess.Popen[str]:
    """Another process holding the lock (flock is per open file: two in one process would
    conflict the same way, but a real second server is another process)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from sluice.instance_lock import DataDirLock;"
            f"DataDirLock(Path({str(data_dir)!r}), {role!r}).acquire({port});"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def _end(holder: subprocess.Popen[str]) -> None:
    holder.kill()
    holder.wait()
    assert holder.stdout is not None
    holder.stdout.close()


def test_a_second_holder_is_refused_with_the_first_ones_pid_and_port(tmp_path: Path) -> None:
    holder = _held_elsewhere(tmp_path, "all", 4321)
    try:
        with pytest.raises(DataDirInUse, match=f"another Sluice \\(pid {holder.pid}, port 4321\\)"):
            DataDirLock(tmp_path).acquire(1)
        with pytest.raises(DataDirInUse):
            DataDirLock(tmp_path, "worker").acquire(1)
    finally:
        _end(holder)
    lock = DataDirLock(tmp_path)  # its holder is gone: free
    lock.acquire(1)
    lock.release()


def test_processes_of_different_roles_share_a_data_dir_but_not_one_role(tmp_path: Path) -> None:
    holder = _held_elsewhere(tmp_path, "api", 1)
    try:
        worker = DataDirLock(tmp_path, "worker")
        worker.acquire(2)
        with pytest.raises(DataDirInUse, match=f"pid {holder.pid}, port 1"):
            DataDirLock(tmp_path, "api").acquire(3)
        with pytest.raises(DataDirInUse):
            DataDirLock(tmp_path, "all").acquire(3)
        worker.release()
    finally:
        _end(holder)


def test_a_data_dir_that_cannot_be_made_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")  # even root cannot make a directory inside a file
    with pytest.raises(CannotStart, match=r"the data dir .* cannot be used: Not a directory"):
        DataDirLock(tmp_path / "file" / "data").acquire(1)


def test_a_start_waits_for_the_worker_process_a_dead_server_left(tmp_path: Path) -> None:
    """The server was killed; its worker process still holds the inherited lock for the
    moments it takes to hand its calls back: the next start waits for it, then starts."""
    data_dir = tmp_path / "data"
    # the server: takes the lock, then forks a child that keeps it, and dies (kill -9)
    script = (
        "import os, sys, time; from pathlib import Path;"
        "from sluice.instance_lock import DataDirLock;"
        f"DataDirLock(Path({str(data_dir)!r})).acquire(1);"
        "r, w = os.pipe();"
        "pid = os.fork();"
        "(os.close(r), os.read(os.open(sys.argv[1], os.O_RDONLY), 1), os._exit(0))"
        " if pid == 0 else None;"
        "print(pid, flush=True); os.kill(os.getpid(), 9)"
    )
    release = tmp_path / "release"
    os.mkfifo(release)
    server = subprocess.Popen(
        [sys.executable, "-c", script, str(release)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    assert int(server.stdout.readline()) > 0  # the worker's pid: it was forked
    server.wait()
    server.stdout.close()
    lock = DataDirLock(data_dir)
    with pytest.raises(DataDirInUse):  # the worker still holds it, and lets go only when told
        lock._acquire(2)
    threading.Timer(0.5, lambda: release.write_bytes(b"x")).start()
    lock.acquire(2)  # waits for the worker, told to end half a second from now
    lock.release()
