"""One server per data dir: `sluice serve` holds a lock on its data dir for its whole life,
taken before it touches anything, so a second start on a data dir in use refuses (naming the
running one) instead of handing the first one's running calls back to the queue.

A server of every role (`all`) takes `server.lock` exclusively. A process of one role of
several (`--role api|worker|scheduler`) shares `server.lock` with the other roles and takes
`server-<role>.lock` exclusively, so two processes of one role never share a data dir either.
flock is released by the kernel when the last process holding the descriptor ends (the worker
process of an embedded Sluice inherits it, so the lock lasts until both are gone)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from pathlib import Path

from sluice.errors import CannotStart
from sluice.processes import pid_running

_MAIN = "server.lock"
#: how long a start waits for the worker process of a server that died to end
ORPHAN_WAIT_S = 20.0

log = logging.getLogger("sluice")


class DataDirInUse(CannotStart):
    """Another server runs on this data dir."""


class DataDirLock:
    def __init__(self, data_dir: Path, role: str = "all") -> None:
        self.data_dir = data_dir
        self.role = role
        self._fds: list[int] = []

    @property
    def fds(self) -> tuple[int, ...]:
        """The descriptors that hold the lock (for a child process that must hold it too)."""
        return tuple(self._fds)

    def acquire(self, port: int) -> None:
        """Take the lock and record this process's pid and port in it; DataDirInUse when
        another server holds it, CannotStart when the data dir cannot be made or written.
        A server that died leaves its worker process holding the lock for the moments it
        takes to hand its calls back and end: a start right after waits for it."""
        deadline = time.monotonic() + ORPHAN_WAIT_S
        told = False
        while True:
            try:
                self._acquire(port)
                return
            except DataDirInUse:
                if not self._orphaned() or time.monotonic() > deadline:
                    raise
                if not told:
                    log.info("the last server on this data dir died: waiting for its worker")
                    told = True
                time.sleep(0.05)

    def _acquire(self, port: int) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.role == "all":
                own = self._take(_MAIN, fcntl.LOCK_EX)
            else:
                self._take(_MAIN, fcntl.LOCK_SH)
                own = self._take(f"server-{self.role}.lock", fcntl.LOCK_EX)
            os.ftruncate(own, 0)
            os.pwrite(own, json.dumps({"pid": os.getpid(), "port": port}).encode(), 0)
        except BlockingIOError:
            self.release()
            raise DataDirInUse(
                f"the data dir {self.data_dir} is in use by {self._holder()}: stop that one"
                " first, or start this one with another --data-dir"
            ) from None
        except OSError as exc:
            self.release()
            raise CannotStart(
                f"the data dir {self.data_dir} cannot be used: {exc.strerror or exc}"
                " (set --data-dir or SLUICE_DATA_DIR to a directory this user can write)"
            ) from None

    def _take(self, name: str, how: int) -> int:
        fd = os.open(self.data_dir / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._fds.append(fd)
        fcntl.flock(fd, how | fcntl.LOCK_NB)
        return fd

    def _orphaned(self) -> bool:
        """Whether the lock is held by no server written down in it: every one recorded has
        died, so what holds it is a worker process that outlives its server on the way out."""
        pids = []
        for path in self.data_dir.glob("server*.lock"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                pids.append(int(json.loads(path.read_text())["pid"]))
        return bool(pids) and not any(pid_running(pid) for pid in pids)

    def _holder(self) -> str:
        """Who holds it, as its lock files tell (a holder that has just started may not
        have written itself down yet)."""
        for path in sorted(self.data_dir.glob("server*.lock")):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                told = json.loads(path.read_text())
                pid, port = int(told["pid"]), int(told["port"])
                if pid_running(pid) and pid != os.getpid():
                    return f"another Sluice (pid {pid}, port {port})"
        return "another Sluice"

    def release(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
