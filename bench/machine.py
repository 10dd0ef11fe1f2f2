"""Machine facts, and CPU accounting: how much of the machine a measurement used, and who used it.

The bench runs on a shared 2-vCPU VM, so every measurement also records the CPU that processes
other than ours (the bench process, the server and its function processes) took meanwhile.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil


def machine_facts(repo: Path) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    try:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        node = ""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "sqlite": sqlite3.sqlite_version,
        "node": node,
        "kernel": platform.release(),
        "git_commit": commit,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


def _tree(pid: int) -> set[int]:
    try:
        root = psutil.Process(pid)
        return {pid, *(p.pid for p in root.children(recursive=True))}
    except psutil.Error:
        return set()


def _all_processes() -> dict[tuple[int, float], tuple[float, bool]]:
    """(pid, create time) -> (CPU seconds, is a kernel thread), for every process."""
    out: dict[tuple[int, float], tuple[float, bool]] = {}
    for proc in psutil.process_iter(["ppid", "create_time", "cpu_times"]):
        info = proc.info
        times = info.get("cpu_times")
        if times is None:
            continue
        kernel = proc.pid == 2 or info.get("ppid") == 2
        out[(proc.pid, info["create_time"])] = (float(times.user + times.system), kernel)
    return out


def _busy_seconds() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0))


@dataclass
class CpuMeter:
    """CPU seconds over one measurement, split between the server's main process, its
    function processes, this bench process, kernel threads (fsync and I/O work shows up
    there), other live processes, and the rest (interrupts, processes that started and ended
    inside the measurement). `not_ours_pct` is everything but the first three."""

    server_pid: int
    _t0: float = 0.0
    _busy0: float = 0.0
    _procs0: dict[tuple[int, float], tuple[float, bool]] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self._procs0 = _all_processes()
        self._busy0 = _busy_seconds()
        self._t0 = time.monotonic()
        return self

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._t0
        busy = _busy_seconds() - self._busy0
        procs = _all_processes()
        server = _tree(self.server_pid)
        own = os.getpid()
        split = {"server": 0.0, "functions": 0.0, "bench": 0.0, "kernel": 0.0, "foreign": 0.0}
        for (pid, created), (cpu, kernel) in procs.items():
            before = self._procs0.get((pid, created), (0.0, kernel))[0]
            delta = max(cpu - before, 0.0)
            if pid == self.server_pid:
                split["server"] += delta
            elif pid in server:
                split["functions"] += delta
            elif pid == own:
                split["bench"] += delta
            elif kernel:
                split["kernel"] += delta
            else:
                split["foreign"] += delta
        out = {f"{k}_cpu_s": v for k, v in split.items()}
        per = 100 / wall if wall else 0.0
        ours = split["server"] + split["functions"] + split["bench"]
        return {
            "wall_s": wall,
            "machine_busy_pct": busy * per,
            **out,
            #: busy time no process alive at the end accounts for: interrupts, processes that
            #: came and went (a neighbour's short CLI runs, say)
            "unattributed_cpu_s": max(busy - sum(split.values()), 0.0),
            #: percent of one core taken by everything that is not ours
            "not_ours_pct": max(busy - ours, 0.0) * per,
            "foreign_pct": split["foreign"] * per,
            "kernel_pct": split["kernel"] * per,
        }


def wait_until_quiet(max_wait: float = 30.0, threshold_pct: float = 15.0) -> float:
    """Wait (at most `max_wait` s) for the machine to be under `threshold_pct` busy over 1 s;
    returns the last reading (percent of the whole machine)."""
    if max_wait <= 0:
        return float(psutil.cpu_percent(interval=0.2))
    deadline = time.monotonic() + max_wait
    while True:
        busy = float(psutil.cpu_percent(interval=1.0))
        if busy < threshold_pct or time.monotonic() > deadline:
            return busy
