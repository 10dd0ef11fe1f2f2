"""The control groups themselves, on this machine's real hierarchy (root only)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from sluice.sandbox.cgroups import Cgroups, ProcessGroup


@pytest.fixture
def group() -> Iterator[ProcessGroup]:
    cgroups = Cgroups.detect()
    if cgroups is None:
        pytest.skip("this server may not make control groups here (not root, or none)")
    try:
        yield cgroups.create()
    finally:
        cgroups.close()


def _memory_limit(group: ProcessGroup) -> int:
    path = group.dirs.get("unified") or group.dirs["memory"]
    name = "memory.max" if group.v2 else "memory.limit_in_bytes"
    return int((path / name).read_text())


def test_the_memory_limit_follows_each_change(group: ProcessGroup) -> None:
    # a warm process's calls set the same limit again and again; a different one must land
    for mb in (128, 128, 256, 64, 64, 128):
        group.limit_memory(mb)
        assert _memory_limit(group) == mb << 20


def test_pids_lists_what_is_in_the_group(group: ProcessGroup) -> None:
    assert group.pids() == []
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        group.join(child.pid)
        assert group.pids() == [child.pid]
        assert group.kill() == 1
        child.wait(timeout=10)
    finally:
        child.kill()
        child.wait()
    assert group.pids() == []
