"""bench/inprocess.py runs the real app on a real SQLite file and prints a figure per route
(every answer it counts was a 202: the script checks each one)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_prints_the_loop_cpu_of_each_route() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "inprocess.py"), "--reps", "2", "--accepts", "64"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    figures = dict(
        re.findall(
            r"^(\w+): loop thread CPU per accept \(us\), low to high: (.+)$", done.stdout, re.M
        )
    )
    assert set(figures) == {"openwhisk", "openfaas"}
    for shown in figures.values():
        values = [float(v) for v in shown.split(", ")]
        assert len(values) == 2
        assert all(v > 0 for v in values)
