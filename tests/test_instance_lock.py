"""The data dir's lock: one server of every role, or one process per role, per data dir."""

from __future__ import annotations

import subprocess
import sys
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
