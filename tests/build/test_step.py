"""A build step's command runs below the server's priority, as a batch task."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sluice.build.step import Step
from sluice.sandbox.rlimits import RlimitSandbox

#: what the command reports of itself: its nice value and scheduling policy (stat fields
#: 19 and 41)
REPORT = "read -r stat < /proc/self/stat; set -- ${stat##*) }; shift 16; echo $1; shift 22; echo $1"


def test_a_build_runs_niced_as_a_batch_task(tmp_path: Path) -> None:
    def prepare(home: Path) -> tuple[list[str], dict[str, str]]:
        return ["/bin/sh", "-c", f"{{ {REPORT}; }} > {home}/out"], {}

    async def collect(home: Path) -> list[int]:
        return [int(n) for n in (home / "out").read_text().split()]

    async def scenario() -> list[int]:
        step = Step(RlimitSandbox(), tmp_path, 30)
        found, _ = await step.run("report", prepare, collect)
        return found

    nice, policy = asyncio.run(scenario())
    assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    assert policy == os.SCHED_BATCH
