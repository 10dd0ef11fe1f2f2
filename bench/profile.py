"""Optional sampling profile of the server during a measurement, with py-spy when it is there.

`py-spy record --format raw` writes collapsed stacks ("frame;frame;frame count" per line);
`summarise` turns them into the functions with the most samples on top of the stack (self)
and anywhere in it (inclusive).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

_LOCATION = re.compile(r" \((?P<file>[^()]*?):(?P<line>\d+)\)$")


def find_py_spy(explicit: str | None) -> str | None:
    return explicit or shutil.which("py-spy")


def start_profile(
    py_spy: str, pid: int, out: Path, seconds: float = 600, rate: int = 200, gil: bool = False
) -> subprocess.Popen[bytes]:
    """Sample `pid` without pausing it, until `finish_profile` (or `seconds`); with `gil`,
    only the thread holding the interpreter lock (Python's CPU, not threads waiting in a
    system call or the loop idling in epoll)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(round(seconds), 1)),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--nonblocking",
            *(["--gil"] if gil else []),
            "--output",
            str(out),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish_profile(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Stop sampling: py-spy writes its output on SIGINT."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _short(frame: str) -> str:
    """`func (path/to/file.py:12)` -> `func (file.py)`: lines merged, paths trimmed."""
    match = _LOCATION.search(frame)
    if not match:
        return frame
    name = frame[: match.start()]
    path = match.group("file")
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """The top functions by self and inclusive samples of a py-spy raw profile."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def pct(items: list[tuple[str, int]]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in items] if total else []

    return {
        "samples": total,
        "self_pct": pct(own.most_common(top)),
        "inclusive_pct": pct(inclusive.most_common(top * 2)),
    }
