"""The fallback sandbox where bubblewrap cannot make namespaces (Ubuntu 24.04's AppArmor
rule against unprivileged user namespaces, a container's default seccomp profile): what the
kernel still lets an unprivileged process do to itself before it runs a function.

- **Its own files only, by Landlock**: read and execute on the system's directories, the
  interpreters and Sluice's runners (and the build environments a launch names), everything
  on its own directory (HOME and TMPDIR), read and write on /dev/null, /dev/zero and the
  random devices, and its own /proc entries; nothing else can be opened, listed or written,
  the data dir, the secret, other processes' /proc and the host's /tmp among it.
- **TCP to Sluice's API alone** (Landlock ABI 4): a connection may go to the API's port
  only (`api-only`, and `egress`, for which a user-mode stack needs a network namespace),
  to none (`none`), or anywhere (`host`). UDP and pathname UNIX sockets are not covered by
  Landlock: the start-up log says so.
- **No signals or abstract UNIX sockets outside its own processes** (ABI 6), so a function
  running as the server's own user cannot kill or reach it.
- The same seccomp filter as bubblewrap's (sandbox/seccomp.py), loaded with `no_new_privs`;
  under a root server an unprivileged uid of its own and the same control groups
  (sandbox/cgroups.py), joined before it drops root.

It is all done in the child between fork and exec, with system calls alone. No maintained
Python library covers Landlock's network rules and scopes, so the three calls are made here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntFlag
from functools import partial
from pathlib import Path

from sluice.sandbox import seccomp
from sluice.sandbox.api_bridge import Forward, SamePort
from sluice.sandbox.base import Confinement, LaunchSpec, Network, Unconfined, give
from sluice.sandbox.bwrap import SYSTEM_DIRS, SYSTEM_LINKS, children_of, runtime_paths
from sluice.sandbox.cgroups import Cgroups, ProcessGroup
from sluice.sandbox.rlimits import RlimitSandbox

# the generic system call table: the same numbers on x86-64 and arm64
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_libc = ctypes.CDLL(None, use_errno=True)


class Fs(IntFlag):
    EXECUTE = 1 << 0
    WRITE_FILE = 1 << 1
    READ_FILE = 1 << 2
    READ_DIR = 1 << 3
    REMOVE_DIR = 1 << 4
    REMOVE_FILE = 1 << 5
    MAKE_CHAR = 1 << 6
    MAKE_DIR = 1 << 7
    MAKE_REG = 1 << 8
    MAKE_SOCK = 1 << 9
    MAKE_FIFO = 1 << 10
    MAKE_BLOCK = 1 << 11
    MAKE_SYM = 1 << 12
    REFER = 1 << 13  # ABI 2
    TRUNCATE = 1 << 14  # ABI 3
    IOCTL_DEV = 1 << 15  # ABI 5


_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_CONNECT_TCP = 1 << 1  # ABI 4 (BIND_TCP, 1 << 0, is left to the function: it serves)
_SCOPES = 0b11  # ABI 6: abstract UNIX sockets, signals
_FILE_RIGHTS = Fs.EXECUTE | Fs.WRITE_FILE | Fs.READ_FILE | Fs.TRUNCATE | Fs.IOCTL_DEV
_READ = Fs.EXECUTE | Fs.READ_FILE | Fs.READ_DIR
_DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full")
#: system files interpreters read at start (CPU count, memory size)
_PROC_FILES = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/loadavg")


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _NetPort(ctypes.Structure):
    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def abi() -> int:
    """The Landlock ABI this kernel has (0: none, or disabled)."""
    version = _libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


def _fs_rights(version: int) -> int:
    return next(
        bits for level, bits in sorted(_FS_BY_ABI.items(), reverse=True) if version >= level
    )


def _check(result: int, what: str) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
    return result


class Ruleset:
    """One process's Landlock ruleset, made in the server, enforced by the child."""

    def __init__(self, version: int, network: Network, api_port: int | None) -> None:
        self.version = version
        self.fs = _fs_rights(version)
        net = _NET_CONNECT_TCP if version >= 4 and network is not Network.HOST else 0
        attr = _RulesetAttr(self.fs, net, _SCOPES if version >= 6 else 0)
        size = 8 if version < 4 else 16 if version < 6 else 24
        self.fd = _check(
            _libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
            "landlock_create_ruleset",
        )
        if net and api_port is not None and network in (Network.API, Network.EGRESS):
            port = _NetPort(_NET_CONNECT_TCP, api_port)
            _check(
                _libc.syscall(_ADD_RULE, self.fd, _RULE_NET_PORT, ctypes.byref(port), 0),
                "landlock_add_rule (the API's port)",
            )

    def allow(self, path: str, rights: int) -> None:
        """Let `rights` (those the kernel knows) on `path` and beneath it; a missing path is
        skipped."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                rights &= _FILE_RIGHTS
            rule = _PathBeneath(rights & self.fs, fd)
            _check(
                _libc.syscall(_ADD_RULE, self.fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0),
                f"landlock_add_rule ({path})",
            )
        finally:
            os.close(fd)

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class _Plan:
    """What the child does to itself between fork and exec (system calls only)."""

    ruleset: Ruleset
    #: the seccomp program, kept alive in memory the child inherits
    program: ctypes.Array[ctypes.c_char]
    fprog: _SockFprog
    limits: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    group: ProcessGroup | None = None
    uid: int | None = None


def _confine(plan: _Plan) -> None:
    # In the forked child, before exec.
    pid = os.getpid()
    if plan.group is not None:
        plan.group.join(pid)
    for which, value in plan.limits.items():
        resource.setrlimit(which, value)
    plan.ruleset.allow(f"/proc/{pid}", _READ)
    if plan.uid is not None:
        os.setgroups([])
        os.setgid(plan.uid)
        os.setuid(plan.uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.syscall(_RESTRICT_SELF, plan.ruleset.fd, 0), "landlock_restrict_self")
    _check(
        _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(plan.fprog), 0, 0),
        "seccomp",
    )


class LandlockSandbox:
    def __init__(
        self,
        version: int,
        visible: Sequence[Path],
        *,
        network: Network,
        api_port: int | None,
        uid: int | None,
        cgroups: Cgroups | None,
        memory_mb: int,
        pids: int,
        cpus: float | None,
        open_files: int,
    ) -> None:
        self.version = version
        self.network = Network.API if network is Network.EGRESS else network
        self.api_port = api_port
        self.uid = uid
        self.cgroups = cgroups
        self.memory_mb, self.pids, self.cpus = memory_mb, pids, cpus
        self.inner = RlimitSandbox()
        self.limits = {resource.RLIMIT_NOFILE: (open_files, open_files)}
        self.readable = [
            *SYSTEM_DIRS,
            *SYSTEM_LINKS,
            *(str(path) for path in (*runtime_paths(), *visible)),
        ]
        self._opened: set[Path] = set()
        program = seccomp.program()
        self._program = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // 8, ctypes.addressof(self._program))

    def _traversable(self, path: Path) -> None:
        """The directories above a process's own must let its uid through (bubblewrap mounts
        the directory where it can; here the path is the host's): search, not list."""
        if path in self._opened:
            return
        for parent in (path, *path.parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
        self._opened.add(path)

    def unreachable(self) -> list[str]:
        """Runtime directories the function uid cannot even enter (an interpreter under
        /root, say): what lives there cannot run in this sandbox."""
        if self.uid is None:
            return []
        closed = []
        for path in runtime_paths():
            for parent in path.parents:
                if not parent.stat().st_mode & stat.S_IXOTH:
                    closed.append(str(parent))
                    break
        return sorted(set(closed))

    @property
    def description(self) -> str:
        who = f"uid {self.uid} (unprivileged)" if self.uid is not None else "the server's user"
        network = {
            Network.NONE: "no TCP connection at all",
            Network.API: "TCP to Sluice's API port alone (no internet: egress needs bubblewrap)",
            Network.HOST: "the host's network",
        }[self.network]
        if self.version < 4:
            network = "the host's network (Landlock ABI 4 is needed to limit TCP)"
        scopes = (
            "no signals or abstract UNIX sockets outside its own processes"
            if self.version >= 6
            else "signals to the server's user's processes not refused (needs Landlock ABI 6)"
        )
        limits = (
            f"{self.cgroups.description}: memory, {self.pids} processes, {self.cpus or 'any'} CPUs"
            if self.cgroups is not None
            else "no control groups (the server is not root): memory sampled"
        )
        return (
            f"Landlock ABI {self.version} (bubblewrap cannot make namespaces here): own files "
            f"only, {who}, no_new_privs, seccomp filter, {network}; {scopes}; UDP and pathname "
            f"UNIX sockets not limited; no private /tmp (TMPDIR is its own directory); {limits}"
        )

    def with_network(self, network: Network) -> LandlockSandbox:
        return self  # builds: the host's network is what a TCP rule of HOST would give

    def close(self) -> None:
        if self.cgroups is not None:
            self.cgroups.close()

    def launch(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        *,
        visible: Sequence[Path] = (),
        network: str | None = None,
        secrets: Mapping[str, bytes] | None = None,
    ) -> LaunchSpec:
        chosen = self.network if network is None else Network(network)
        if chosen is Network.EGRESS:
            chosen = Network.API
        # no mount namespace to show /var/openfaas/secrets in: files of its own directory
        spec = self.inner.launch(argv, env, cwd, secrets=secrets)
        home = cwd.resolve()
        if self.uid is not None:
            give(home, self.uid, self.uid)
            self._traversable(home.parent)
        ruleset = Ruleset(self.version, chosen, self.api_port)
        try:
            for path in (*self.readable, *(str(p) for p in visible)):
                ruleset.allow(path, _READ)
            ruleset.allow(str(home), self_rights := ruleset.fs)
            for device in _DEVICES:
                ruleset.allow(device, self_rights)
            for name in _PROC_FILES:
                ruleset.allow(name, Fs.READ_FILE)
            group = None
            if self.cgroups is not None:
                group = self.cgroups.create()
                group.limit(self.memory_mb, self.pids, self.cpus)
        except BaseException:
            ruleset.close()
            raise
        plan = _Plan(ruleset, self._program, self._fprog, self.limits, group, self.uid)
        return LaunchSpec(
            argv=spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            start_new_session=True,
            preexec_fn=partial(_confine, plan),
            confiner=LandlockConfiner(ruleset, group),
        )


class LandlockConfiner:
    """The child confined itself; the server closes the ruleset and keeps the group."""

    def __init__(self, ruleset: Ruleset, group: ProcessGroup | None) -> None:
        self.ruleset = ruleset
        self.group = group

    async def attach(self, pid: int) -> Confinement:
        self.ruleset.close()
        if self.group is None:
            return Unconfined()
        return GroupConfinement(pid, self.group)

    def discard(self) -> None:
        self.ruleset.close()
        if self.group is not None:
            self.group.kill()
            self.group.remove()


class GroupConfinement(Unconfined):
    """A process on the host's network held in its control group."""

    def __init__(self, pid: int, group: ProcessGroup) -> None:
        self.pid = pid
        self.group = group

    def limit_memory(self, memory_mb: int) -> None:
        with contextlib.suppress(OSError):
            self.group.limit_memory(memory_mb)

    def kill_strays(self, keep_children: bool = False) -> int:
        keep = {self.pid, *(children_of(self.pid) if keep_children else ())}
        return self.group.kill(keep=frozenset(keep))

    def out_of_memory(self) -> bool:
        return self.group.oom_kills() > 0

    async def forward(self, port: int) -> Forward:
        return SamePort(port)

    async def release(self) -> None:
        self.group.kill()
        for _ in range(50):
            if self.group.remove():
                return
            await asyncio.sleep(0.01)
