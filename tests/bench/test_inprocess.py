"""bench/inprocess.py runs the real app on a real SQLite file and prints a figure per route
(every answer it counts was a 202: the script checks each one); with --workers the calls
also run, on real runtime processes, and each repetition waits for all of them to end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.server import shared_node_modules

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("flags", "what"), [((), "accept"), (("--workers",), "accept and run")], ids=["api", "all"]
)
def test_prints_the_loop_cpu_of_each_route(flags: tuple[str, ...], what: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "inprocess.py"),
            *("--reps", "2", "--accepts", "64", *flags),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "SLUICE_NODE_MODULES": str(shared_node_modules())},
    )
    assert done.returncode == 0, done.stderr
    figures = dict(
        re.findall(
            rf"^(\w+): loop thread CPU per {what} \(us\), low to high: (.+)$", done.stdout, re.M
        )
    )
    assert set(figures) == {"openwhisk", "openfaas"}
    for shown in figures.values():
        values = [float(v) for v in shown.split(", ")]
        assert len(values) == 2
        assert all(v > 0 for v in values)
