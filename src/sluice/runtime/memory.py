"""Memory limits: sample the resident memory of running calls' process trees."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

import psutil

log = logging.getLogger("sluice.runtime")

_PAGE = os.sysconf("SC_PAGE_SIZE")
#: Linux with /proc/<pid>/task/<tid>/children: a process tree is read without a scan of /proc
_PROC_CHILDREN = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def tree_rss(pid: int) -> int:
    """Resident bytes of process `pid` and all its descendants (0 when it is gone)."""
    if not _PROC_CHILDREN:
        return _psutil_tree_rss(pid)
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
            # children of the main thread: runners start their subprocesses from it
            with open(f"/proc/{current}/task/{current}/children", "rb") as f:
                stack.extend(int(child) for child in f.read().split())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


def _psutil_tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    except psutil.Error:
        return 0
    return total


class MemoryWatch:
    """One background loop samples every watched process every `interval` seconds and calls
    its callback once when the process tree is over its limit."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._watched: dict[int, tuple[int, Callable[[], None]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def watch(self, pid: int, limit_mb: int, exceeded: Callable[[], None]) -> None:
        self._watched[pid] = (limit_mb * 1024 * 1024, exceeded)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())
        self._wake.set()

    def unwatch(self, pid: int) -> None:
        self._watched.pop(pid, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            if not self._watched:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(self.interval)
            try:
                self.sample()
            except Exception:
                log.exception("memory sampling failed")

    def sample(self) -> None:
        for pid, (limit, exceeded) in list(self._watched.items()):
            if tree_rss(pid) > limit:
                self._watched.pop(pid, None)
                exceeded()
