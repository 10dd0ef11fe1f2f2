"""The server runs on uvloop: the runtime's pipes, pidfds and sockets must work there too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sluice.runtime.base import Outcome
from tests.runtime.helpers import action, open_runtime, pid_gone, request, wait_until, zip_b64

uvloop = pytest.importorskip("uvloop")

COUNTER_JS = """
let calls = 0;
exports.main = async (p) => {
  calls++;
  console.log('call', calls);
  if (p.wait) await new Promise((resolve) => setTimeout(resolve, p.wait));
  if (p.spin) while (true) {}
  if (p.exit) process.exit(2);
  return {calls, pid: process.pid};
};
"""
GROW_PY = """
import time
def main(a):
    kept = []
    for _ in range(100):
        kept.append(b"x" * (16 << 20))
        time.sleep(0.02)
    return {}
"""


def test_runtime_on_uvloop(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", stem_cells=1) as runtime:
            snapshot = runtime.pool.snapshot
            stems = await wait_until(lambda: snapshot().stems.get("nodejs:20"), "a stem cell")
            code = action(COUNTER_JS)
            first = await runtime.run(request(code))
            assert isinstance(first.result, dict)
            assert first.result == {"calls": 1, "pid": stems[0]}
            assert [line.partition(": ")[2] for line in first.logs] == ["call 1"]
            second = await runtime.run(request(code))
            assert second.result == {"calls": 2, "pid": stems[0]}
            assert second.init_ms is None

            a, b = await asyncio.gather(
                runtime.run(request(code, {"wait": 100})), runtime.run(request(code, {"wait": 100}))
            )
            assert isinstance(a.result, dict)
            assert isinstance(b.result, dict)
            assert a.result["pid"] != b.result["pid"]

            stuck = await runtime.run(request(code, {"spin": True}, timeout_ms=300))
            assert stuck.outcome is Outcome.TIMEOUT
            crash = await runtime.run(request(code, {"exit": True}))
            assert crash.outcome is Outcome.DEVELOPER_ERROR
            assert crash.result == {
                "error": "The action did not produce a valid response and exited unexpectedly."
            }
            grow = await runtime.run(request(action(GROW_PY, "python:3.11", memory_mb=64)))
            assert grow.result == {"error": "The action exceeded its memory limit of 64 MB."}

            script = '#!/bin/sh\necho "log"\necho "{\\"ok\\": $1}"\n'
            box = action(zip_b64({"exec": script}, modes={"exec": 0o755}), "blackbox", binary=True)
            boxed = await runtime.run(request(box, {"x": 1}))
            assert boxed.result == {"ok": {"x": 1}}
            assert [line.partition(": ")[2] for line in boxed.logs] == ["log"]
            pids = [pid for pids in snapshot().idle.values() for pid in pids]
        assert all(pid_gone(pid) for pid in pids)

    uvloop.run(scenario())
