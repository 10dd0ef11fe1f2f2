"""A control group per function process: memory (shared memory and every child and thread
counted), process count and CPU limits for the whole tree, and a list of what is in it.

cgroup v2 where its controllers are there (the unified hierarchy with memory and pids),
otherwise the v1 controllers mounted one per hierarchy (memory, pids, cpu), as on machines
that keep the legacy layout. Only a server run by root can make groups; without them the
sandbox falls back to sampling memory and to the process's own limits.

Groups live under `sluice-<server pid>/` in the server's own group of each hierarchy, so
several servers on a machine keep apart and a later start can remove what a killed one left.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from sluice.processes import pid_running

log = logging.getLogger("sluice.sandbox")

_V1_CONTROLLERS = ("memory", "pids", "cpu")
_CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class Hierarchy:
    """Where one kind of group is made: a v1 controller's, or the v2 tree's."""

    controller: str  # "memory" / "pids" / "cpu" (v1), or "unified" (v2)
    base: Path  # this server's directory in it


class Cgroups:
    """The groups of one server's function processes."""

    def __init__(self, hierarchies: tuple[Hierarchy, ...]) -> None:
        self.hierarchies = hierarchies
        self.v2 = any(h.controller == "unified" for h in hierarchies)
        self._names = itertools.count(1)

    @classmethod
    def detect(cls) -> Cgroups | None:
        """This machine's groups for this server, or None where it may not make them."""
        if os.geteuid() != 0:
            return None
        found = _v2_hierarchy() or _v1_hierarchies()
        if not found:
            return None
        made: list[Hierarchy] = []
        for hierarchy in found:
            try:
                hierarchy.base.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.warning("cannot make control groups in %s: %s", hierarchy.base.parent, exc)
                return None
            made.append(hierarchy)
        groups = cls(tuple(made))
        if groups.v2 and not _enable_v2_controllers(groups.hierarchies[0].base):
            return None
        groups.sweep()
        return groups

    @property
    def description(self) -> str:
        if self.v2:
            return "cgroup v2 (memory, pids, cpu)"
        names = ", ".join(h.controller for h in self.hierarchies)
        return f"cgroup v1 ({names})"

    def create(self) -> ProcessGroup:
        name = f"p{next(self._names)}"
        dirs = {h.controller: h.base / name for h in self.hierarchies}
        for path in dirs.values():
            path.mkdir(exist_ok=True)
        return ProcessGroup(dirs)

    def sweep(self) -> None:
        """Remove the groups servers that are no longer running left behind."""
        for hierarchy in self.hierarchies:
            for entry in hierarchy.base.parent.glob("sluice-*"):
                owner = entry.name.removeprefix("sluice-")
                if owner.isdigit() and int(owner) != os.getpid() and not pid_running(int(owner)):
                    _remove_tree(entry)

    def close(self) -> None:
        for hierarchy in self.hierarchies:
            _remove_tree(hierarchy.base)


class ProcessGroup:
    """One function process's group (one directory per v1 controller)."""

    def __init__(self, dirs: dict[str, Path]) -> None:
        #: per controller ("unified" alone for v2)
        self.dirs = dirs
        self.v2 = "unified" in dirs
        #: the memory limit last written: a warm process's calls set the same one each time,
        #: and two or three cgroup file writes per call are a measurable part of a no-op's CPU
        self._memory_bytes: int | None = None
        #: the file that lists its processes, read after every call (strays): named once,
        #: since a path joined and turned to text each time is a measurable part of that read
        listed = self._dir("pids") or next(iter(dirs.values()))
        self._procs = str(listed / "cgroup.procs")

    def _dir(self, controller: str) -> Path | None:
        return self.dirs.get("unified") or self.dirs.get(controller)

    def join(self, pid: int) -> None:
        """Put `pid` in the group: what it starts from now on is in it too."""
        for path in self.dirs.values():
            (path / "cgroup.procs").write_text(str(pid))

    def limit(self, memory_mb: int | None, pids: int | None, cpus: float | None) -> None:
        if memory_mb is not None:
            self.limit_memory(memory_mb)
        if pids is not None and (path := self._dir("pids")) is not None:
            (path / "pids.max").write_text(str(pids))
        if cpus is not None and (path := self._dir("cpu")) is not None:
            quota = max(1000, int(cpus * _CPU_PERIOD_US))
            if self.v2:
                (path / "cpu.max").write_text(f"{quota} {_CPU_PERIOD_US}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(_CPU_PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(quota))

    def limit_memory(self, memory_mb: int) -> None:
        """Memory plus swap of the whole group: past it the kernel kills inside the group."""
        path = self._dir("memory")
        if path is None or memory_mb << 20 == self._memory_bytes:
            return
        self._memory_bytes = None  # unknown until every write below has been made
        value = str(memory_mb << 20)
        if self.v2:
            (path / "memory.max").write_text(value)
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
            self._memory_bytes = memory_mb << 20
            return
        memsw = path / "memory.memsw.limit_in_bytes"
        limit = path / "memory.limit_in_bytes"
        # memory+swap may never be below memory alone: raise it first, lower it last
        order = (memsw, limit) if memsw.exists() and _read_int(limit) < int(value) else (limit,)
        for file in order:
            file.write_text(value)
        if memsw.exists() and memsw not in order:
            memsw.write_text(value)
        self._memory_bytes = memory_mb << 20

    def pids(self) -> list[int]:
        try:
            # read after every call (strays): os-level reads skip the text layer's cost
            fd = os.open(self._procs, os.O_RDONLY | os.O_CLOEXEC)
            try:
                data = os.read(fd, 65536)
                while chunk := os.read(fd, 65536):
                    data += chunk
            finally:
                os.close(fd)
            return [int(p) for p in data.split()]
        except (OSError, ValueError):
            return []

    def oom_kills(self) -> int:
        """How many processes the kernel killed in the group for its memory limit."""
        path = self._dir("memory")
        if path is None:
            return 0
        name = "memory.events" if self.v2 else "memory.oom_control"
        try:
            for line in (path / name).read_text().splitlines():
                key, _, count = line.partition(" ")
                if key == "oom_kill":
                    return int(count)
        except (OSError, ValueError):
            pass
        return 0

    def kill(self, keep: frozenset[int] = frozenset()) -> int:
        """SIGKILL every process in the group but `keep`; how many were signalled."""
        killed = 0
        for pid in self.pids():
            if pid not in keep:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
        return killed

    def remove(self) -> bool:
        """Remove the group once it is empty; False while processes are still leaving it."""
        done = True
        for path in self.dirs.values():
            try:
                path.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                done = False
        return done


def _v2_hierarchy() -> list[Hierarchy]:
    root = _mount_point("cgroup2")
    if root is None:
        return []
    try:
        controllers = set((root / "cgroup.controllers").read_text().split())
    except OSError:
        return []
    if not {"memory", "pids"} <= controllers:
        return []
    own = _own_group("")
    return [Hierarchy("unified", _base(root, own))]


def _v1_hierarchies() -> list[Hierarchy]:
    found: list[Hierarchy] = []
    for controller in _V1_CONTROLLERS:
        root = _mount_point("cgroup", controller)
        if root is None:
            continue
        found.append(Hierarchy(controller, _base(root, _own_group(controller))))
    names = {h.controller for h in found}
    return found if {"memory", "pids"} <= names else []


def _base(root: Path, own: str) -> Path:
    return root / own.lstrip("/") / f"sluice-{os.getpid()}"


def _mount_point(fstype: str, controller: str | None = None) -> Path | None:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields, _, tail = line.partition(" - ")
        kind, _, options = tail.split(" ", 2) if tail.count(" ") >= 2 else (tail, "", "")
        if kind != fstype:
            continue
        if controller is not None and controller not in options.split(","):
            continue
        return Path(fields.split(" ")[4])
    return None


def _own_group(controller: str) -> str:
    """This process's group path in the hierarchy of `controller` ("" for v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, names, path = line.split(":", 2)
        if names.split(",") == [""] and controller == "":
            return path
        if controller and controller in names.split(","):
            return path
    return "/"


def _enable_v2_controllers(base: Path) -> bool:
    """v2 lets a group hand controllers to its children only while it has no processes of its
    own (the root excepted): the server's own group must delegate memory and pids to `base`,
    which holds no process, and `base` to the process groups. Run the server in a group of
    its own with those controllers delegated (systemd: `Delegate=yes`)."""
    for path in (base.parent, base):
        for controller in ("memory", "pids", "cpu"):
            try:
                (path / "cgroup.subtree_control").write_text(f"+{controller}")
            except OSError as exc:
                if controller != "cpu":
                    log.warning(
                        "cannot delegate the %s controller in %s: %s", controller, path, exc
                    )
                    return False
    return True


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return 0


def _remove_tree(path: Path) -> None:
    if not path.is_dir():
        return
    for child in sorted(path.iterdir(), reverse=True):
        if child.is_dir():
            _remove_tree(child)
    with contextlib.suppress(OSError):
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    with contextlib.suppress(OSError):
        path.rmdir()
