"""The bubblewrap sandbox: what a hostile function process is held in.

- **Its own files only.** The process sees a new root holding the system's programs and
  libraries read-only (`/usr`, `/etc`, `/opt`, and the interpreters and libraries the runtime
  names), its own directory writable, and private, size-capped `/tmp` and `/dev/shm`. Nothing
  else of the host: no home directories, no `/run` (the sockets of PostgreSQL, MariaDB,
  Docker live there), not Sluice's data dir nor its client config.
- **Unprivileged.** When the server runs as root the process runs as an unprivileged uid of
  its own (`setpriv`, after bwrap has built the sandbox as root), with every capability gone
  from its bounding set and `no_new_privs`; when the server runs as a user, bwrap's user
  namespace holds it, as that user, without capabilities.
- **Refused system calls.** A seccomp filter (sandbox/seccomp.py) refuses raw and packet
  sockets, ptrace, mounts, new namespaces, keyrings, BPF, perf events and the rest.
- **Its own network.** A network namespace of its own: no loopback services of the host, no
  view of other clients' traffic; Sluice's API is bridged in (sandbox/api_bridge.py), with
  or without the internet through a user-mode stack (sandbox/egress.py), or nothing at all.
- **Its own processes.** A pid namespace (what it starts dies with it), IPC and UTS
  namespaces, a session of its own, and a control group (sandbox/cgroups.py) that caps the
  memory, process count and CPU of the whole tree.

The started bwrap waits until the server has put the process in its control group and
network, so the function runs no instruction outside them: it reads its seccomp program
from a pipe the server writes only then. A server that dies or gives up first closes the
pipe empty, and bwrap, refused an empty filter, dies before running the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from sluice.sandbox import seccomp
from sluice.sandbox.api_bridge import (
    Bridge,
    Forward,
    SamePort,
    api_bridge,
    listen_in,
    loopback_ready,
    open_in,
    port_forward,
)
from sluice.sandbox.base import (
    SECRETS_DIR,
    SECRETS_VARIABLE,
    Confinement,
    LaunchSpec,
    Network,
    give,
)
from sluice.sandbox.cgroups import Cgroups, ProcessGroup
from sluice.sandbox.egress import RESOLV_CONF, Egress, Uplink
from sluice.sandbox.memfile import memory_file
from sluice.sandbox.netns import Netns, netns_of
from sluice.sandbox.rlimits import DEFAULT_PATH, RlimitSandbox

log = logging.getLogger("sluice.sandbox")

#: what every process sees read-only, where it exists
SYSTEM_DIRS = ("/usr", "/etc", "/opt")
#: top-level names that are symbolic links into /usr on merged-/usr systems
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: private, size-capped tmpfs of each sandbox (not the host's)
PRIVATE_DIRS = ("/tmp", "/dev/shm")  # noqa: S108


@dataclass(frozen=True)
class Limits:
    """Limits of one function process and everything it starts."""

    #: processes and threads at once
    pids: int = 256
    #: open file descriptors of each process
    open_files: int = 1024
    #: CPU cores' worth of time per wall second (cgroup quota); None: no cap
    cpus: float | None = 1.0
    #: size of the private /tmp and /dev/shm, each (their pages count as the process's memory)
    tmp_mb: int = 512
    #: memory before the runtime sets the function's own limit (a stem cell's)
    memory_mb: int = 2048


@dataclass(frozen=True)
class Identity:
    """Who function processes run as when the server is root."""

    uid: int
    gid: int


class BwrapSandbox:
    def __init__(
        self,
        bwrap: str,
        hidden: Sequence[Path] = (),
        visible: Sequence[Path] = (),
        inner: RlimitSandbox | None = None,
        *,
        identity: Identity | None = None,
        network: Network = Network.API,
        api: tuple[str, int] | None = None,
        cgroups: Cgroups | None = None,
        limits: Limits | None = None,
        egress: Egress | None = None,
    ) -> None:
        """`visible` paths (interpreters, libraries, the npm packages and build environments
        offered to functions) are shown read-only; `hidden` ones are never shown, even where
        they lie inside a visible one (Sluice's data dir below a shown directory)."""
        self.bwrap = bwrap
        self.hidden = sorted({p.resolve() for p in hidden if p.exists()})
        # shown where they are named (what functions are told, e.g. NODE_PATH), even through
        # a link on the host
        self.shown = sorted({p.absolute() for p in (*runtime_paths(), *visible) if p.exists()})
        self.visible = _outermost(self.shown)
        self.inner = inner or RlimitSandbox()
        self.identity = identity
        #: by its path, as the sandbox's PATH finds it: bwrap then execs it with no search
        self.setpriv = shutil.which("setpriv", path=DEFAULT_PATH) or "setpriv"
        #: the way out of processes with the egress network (without one, they get the API)
        self.egress = egress
        self.network = _possible(network, egress)
        #: where the API is for the bridge, and the address it has inside the sandbox
        self.api = api
        self.cgroups = cgroups
        self.limits = limits or Limits()
        self._base = self._base_args()
        self._variants: dict[Network, BwrapSandbox] = {}

    def _base_args(self) -> list[str]:
        args = [self.bwrap, *_system_view()]
        size = str(self.limits.tmp_mb << 20)
        for name in PRIVATE_DIRS:
            args += ["--perms", "1777", "--size", size, "--tmpfs", name]
        for path in self.visible:
            if not _inside_any(path, SYSTEM_DIRS):
                args += [*_traversable_parents(path), *_ro_bind(path)]
        # a hidden directory inside a shown one is covered, what is shown inside it shown again
        for path in self.hidden:
            if any(_inside(path, shown) for shown in self.visible):
                args += ["--tmpfs", str(path)]
                for shown in self.shown:
                    if _inside(shown, path) and shown != path:
                        args += _ro_bind(shown)
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if self.network is not Network.HOST:
            args.append("--unshare-net")
        args += ["--die-with-parent", "--new-session"]
        return args

    @property
    def description(self) -> str:
        """The protections in force, for the start-up log."""
        who = (
            f"uid {self.identity.uid} (unprivileged), no capabilities, no_new_privs"
            if self.identity is not None
            else "the server's user in a user namespace, no capabilities, no_new_privs"
        )
        network = {
            Network.NONE: "a network namespace of its own with no way out",
            Network.API: "a network namespace of its own, Sluice's API bridged in",
            Network.EGRESS: "a network namespace of its own, Sluice's API bridged in, "
            + (self.egress.description if self.egress else ""),
            Network.HOST: "the host's network (SLUICE_FUNCTION_NETWORK=host)",
        }[self.network]
        limits = (
            f"{self.cgroups.description}: memory, {self.limits.pids} processes, "
            f"{self.limits.cpus or 'any'} CPUs"
            if self.cgroups is not None
            else "no control groups (the server is not root): memory sampled"
        )
        return (
            f"bubblewrap: own files only, {who}, seccomp filter, {network}; {limits}; "
            f"{self.limits.open_files} open files; private /tmp and /dev/shm of "
            f"{self.limits.tmp_mb} MB"
        )

    def with_network(self, network: Network) -> BwrapSandbox:
        if network is self.network:
            return self
        made = copy.copy(self)
        made.network = _possible(network, self.egress)
        made._base = made._base_args()
        made._variants = {}
        return made

    def reaching(self, allowed: Sequence[IPv4Network]) -> BwrapSandbox:
        """The same sandbox whose egress also lets `allowed` through (builds: the package
        registries on private addresses)."""
        if self.egress is None or not allowed:
            return self
        made = copy.copy(self)
        made.egress = self.egress.widened(allowed)
        made._variants = {}
        return made

    def _variant(self, network: Network) -> BwrapSandbox:
        """This sandbox with another network, made once."""
        made = self._variants.get(network)
        if made is None:
            made = self._variants[network] = self.with_network(network)
        return made

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
        if network is not None and _possible(Network(network), self.egress) != self.network:
            variant = self._variant(Network(network))
            return variant.launch(argv, env, cwd, visible=visible, secrets=secrets)
        spec = self.inner.launch(argv, {**env, **_secrets_env(secrets)}, cwd)
        home = cwd.resolve()
        if self.identity is not None:
            give(home, self.identity.uid, self.identity.gid)
        secret_fds, mounts = _secret_files(secrets or {})
        info_read, info_write = os.pipe2(os.O_CLOEXEC)
        # the sandbox waits here until let go (see BwrapConfiner.attach)
        rules_read, rules_write = os.pipe2(os.O_CLOEXEC)
        passed = [info_write, rules_read]
        shown: list[str] = []
        if self.network is Network.EGRESS:
            # the names of the host's resolver mean nothing in here: slirp4netns's forwarder
            passed.append(resolv := memory_file("sluice-resolv", RESOLV_CONF))
            shown += ["--perms", "0644", "--ro-bind-data", str(resolv), "/etc/resolv.conf"]
        for path in visible:
            shown += [*_traversable_parents(path.absolute()), *_ro_bind(path.absolute())]
        wrapper = [
            *self._base,
            *shown,
            *mounts,
            *_traversable_parents(home),
            "--bind",
            str(home),
            str(home),
            "--chdir",
            str(home),
            "--seccomp",
            str(rules_read),
            "--info-fd",
            str(info_write),
            "--",
        ]
        if self.identity is not None:
            wrapper += _drop_to(self.identity, self.setpriv)
        childs = (*passed, *secret_fds)
        confiner = BwrapConfiner(self, (info_read, rules_write), childs)
        return LaunchSpec(
            argv=(*wrapper, *spec.argv),
            env=spec.env,
            cwd=spec.cwd,
            start_new_session=spec.start_new_session,
            preexec_fn=spec.preexec_fn,
            pass_fds=childs,
            confiner=confiner,
        )


class BwrapConfiner:
    """Puts one started bwrap's sandbox in its place, then lets it run."""

    def __init__(
        self, sandbox: BwrapSandbox, ours: tuple[int, int], childs: tuple[int, ...]
    ) -> None:
        self.sandbox = sandbox
        #: bwrap's info (the sandbox's pid), and the seccomp program's way in, which lets
        #: the sandbox go
        self.info, self.rules = ours
        self.childs = childs
        #: what holds the sandbox, as each step of `attach` makes it
        self.group: ProcessGroup | None = None
        self.bridge: Bridge | None = None
        self.ns: Netns | None = None
        self.uplink: Uplink | None = None

    def discard(self) -> None:
        for fd in (*self.childs, self.info, self.rules):
            with contextlib.suppress(OSError):
                os.close(fd)

    async def attach(self, pid: int) -> Confinement:
        for fd in self.childs:
            os.close(fd)
        inner: int | None = None
        try:
            inner = await self._sandbox_pid()
            nofile = self.sandbox.limits.open_files
            resource.prlimit(inner, resource.RLIMIT_NOFILE, (nofile, nofile))
            # the group's files are written by a thread while the network comes up: both
            # are done, or both have ended, before anything below
            steps = [self._network(inner)]
            if self.sandbox.cgroups is not None:
                steps.append(self._join_group(self.sandbox.cgroups, pid, inner))
            await _together(steps)
            # one write (a pipe's are whole up to PIPE_BUF): the program, never a part
            os.write(self.rules, seccomp.program())
        except BaseException:
            # dead before the pipe closes below, so that not even bwrap's own code runs on
            _kill_unreleased(pid, inner)
            await self._undo()
            raise
        finally:
            os.close(self.rules)
        return BwrapConfinement(pid, inner, self.group, self.bridge, self.ns, self.uplink)

    async def _join_group(self, cgroups: Cgroups, pid: int, inner: int) -> None:
        """Put bwrap and its sandbox in a new control group, in a thread: on cgroup v1 the
        first move after a quiet while took 10-12 ms here (the kernel's wait, not CPU).
        Cancelled, this still returns only once the thread has ended, so that the group it
        made is known and undone."""
        work = asyncio.ensure_future(asyncio.to_thread(self._grouped, cgroups, pid, inner))
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            await asyncio.wait({work})  # _together cancels once: this wait is not cut short
            raise

    def _grouped(self, cgroups: Cgroups, pid: int, inner: int) -> None:
        self.group = group = cgroups.create()  # known at once, to be undone on a failure
        limits = self.sandbox.limits
        group.limit(limits.memory_mb, limits.pids, limits.cpus)
        # bwrap's own process too: a server killed meanwhile leaves nothing behind that the
        # next start's sweep of its groups does not find
        group.join(pid)
        group.join(inner)

    async def _network(self, inner: int) -> None:
        """The sandbox's network: its loopback, then the API bridged in and the way out."""
        sandbox = self.sandbox
        if sandbox.network is Network.HOST:
            return
        self.ns = ns = netns_of(inner)
        await loopback_ready(ns)
        # the listener and slirp4netns each wait on the kernel and another process (a thread
        # or agent in the namespace, slirp4netns's start): side by side, not one after another
        steps = []
        if sandbox.network is not Network.NONE and sandbox.api:
            steps.append(self._bridge_in(ns, sandbox.api))
        if sandbox.network is Network.EGRESS and sandbox.egress is not None:
            steps.append(self._uplink(sandbox.egress, inner, ns))
        await _together(steps)

    async def _bridge_in(self, ns: Netns, api: tuple[str, int]) -> None:
        inside, target = _bridge_addresses(api)
        self.bridge = api_bridge(await listen_in(ns, inside), target)

    async def _uplink(self, egress: Egress, inner: int, ns: Netns) -> None:
        user_namespace = self.sandbox.identity is None and os.geteuid() != 0
        self.uplink = await egress.attach(inner, ns, user_namespace=user_namespace)

    async def _undo(self) -> None:
        """Free what a start given up had made (every step of it has ended)."""
        if self.uplink is not None:
            await self.uplink.close()
        if self.bridge is not None:
            await self.bridge.close()
        if self.ns is not None:
            await self.ns.close()
        if self.group is not None:
            self.group.kill()
            await _removed(self.group)

    async def _sandbox_pid(self) -> int:
        """The pid (as the server sees it) of the sandbox's first process, from bwrap's info."""
        loop = asyncio.get_running_loop()
        os.set_blocking(self.info, False)
        data = b""
        try:
            while not data.rstrip().endswith(b"}"):
                ready: asyncio.Future[None] = loop.create_future()
                loop.add_reader(self.info, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_reader(self.info)
                chunk = os.read(self.info, 4096)
                if not chunk:
                    raise OSError("bubblewrap exited before the sandbox was made")
                data += chunk
        finally:
            os.close(self.info)
        pid = orjson.loads(data).get("child-pid")
        if not isinstance(pid, int):
            raise OSError(f"bubblewrap gave no sandbox pid: {data!r}")
        return pid


class BwrapConfinement:
    """A running sandbox: its first process (bwrap's init, which starts the command) and what
    holds it."""

    def __init__(
        self,
        monitor: int,
        init: int,
        group: ProcessGroup | None,
        bridge: Bridge | None,
        ns: Netns | None,
        uplink: Uplink | None = None,
    ) -> None:
        #: bwrap outside the sandbox, and its first process inside
        self.monitor = monitor
        self.init = init
        self.group = group
        self.bridge = bridge
        #: its own network (None: the host's)
        self.ns = ns
        self.uplink = uplink
        self._forwards: list[Bridge] = []
        self._command: int | None = None

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.ns is None:
            return await asyncio.open_connection("127.0.0.1", port)
        return await open_in(self.ns, port)

    async def forward(self, port: int) -> Forward:
        if self.ns is None:
            return SamePort(port)
        bridge = await port_forward(self.ns, port)
        self._forwards.append(bridge)
        return bridge

    def limit_memory(self, memory_mb: int) -> None:
        if self.group is not None:
            with contextlib.suppress(OSError):
                self.group.limit_memory(memory_mb)

    def kill_strays(self, keep_children: bool = False) -> int:
        if self.group is None:
            return 0
        if self._command is None:
            self._command = _first_child(self.init)
        if self._command is None:
            return 0
        keep = {self.monitor, self.init, self._command}
        if keep_children:
            keep.update(children_of(self._command))
        return self.group.kill(keep=frozenset(keep))

    def out_of_memory(self) -> bool:
        return self.group is not None and self.group.oom_kills() > 0

    async def release(self) -> None:
        for bridge in (*self._forwards, *([self.bridge] if self.bridge else [])):
            await bridge.close()
        if self.uplink is not None:
            await self.uplink.close()
        if self.ns is not None:
            await self.ns.close()
        group = self.group
        if group is None:
            return
        group.kill()
        await _removed(group)


async def _removed(group: ProcessGroup) -> None:
    """Remove a group whose processes were just killed: the kernel takes a moment to empty it."""
    for _ in range(50):
        if group.remove():
            return
        await asyncio.sleep(0.01)
    log.warning("control group %s is not empty; left behind", next(iter(group.dirs.values())))


async def _together(steps: Sequence[Coroutine[None, None, None]]) -> None:
    """Run `steps` at once. On a failure or a cancel the others are cancelled, once each, and
    every one has ended before this raises: none is left making anything."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    if not tasks:
        return
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()  # nothing to a finished one
        # a cancelled asyncio.wait cancels nothing itself: each step gets the one cancel
        # above, and every one has ended past this line
        await asyncio.wait(tasks)
    errors = [task.exception() for task in tasks if not task.cancelled()]
    for error in errors:
        if error is not None:
            raise error


def _kill_unreleased(bwrap: int, inner: int | None) -> None:
    """Kill a sandbox not let go. Its first process waits for its seccomp program in bwrap's
    process group (it makes a session of its own only once let go), so the group's kill
    reaches it whether or not bwrap has named it yet; once killed, it runs no more code."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(bwrap, signal.SIGKILL)
    for pid in (*children_of(bwrap), *([inner] if inner is not None else [])):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _possible(network: Network, egress: Egress | None) -> Network:
    """The network a process gets: the egress one only where there is a way out."""
    return Network.API if network is Network.EGRESS and egress is None else network


def _secrets_env(secrets: Mapping[str, bytes] | None) -> dict[str, str]:
    return {SECRETS_VARIABLE: SECRETS_DIR} if secrets else {}


def _secret_files(secrets: Mapping[str, bytes]) -> tuple[list[int], list[str]]:
    """Each secret as a memory file bwrap copies into the sandbox's own root (a tmpfs of its
    mount namespace alone) and mounts read-only: nothing of it is on a path of the host."""
    fds: list[int] = []
    args: list[str] = ["--perms", "0755", "--dir", SECRETS_DIR] if secrets else []
    try:
        for name, value in sorted(secrets.items()):
            fds.append(fd := memory_file("sluice-secret", value))
            # readable by the function's unprivileged uid; the mount is read-only
            args += ["--perms", "0444", "--ro-bind-data", str(fd), f"{SECRETS_DIR}/{name}"]
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds, args


def _system_view() -> list[str]:
    """The system's programs and libraries, read-only, and a /proc and /dev of its own."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        if os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return [*args, *_links(), "--proc", "/proc", "--dev", "/dev"]


def _traversable_parents(path: Path) -> list[str]:
    """bwrap makes the directories above a mount point with the modes of the host's, so a
    0700 /root above an interpreter would keep an unprivileged process from it: they are made
    traversable first (they hold nothing but the path to what is mounted)."""
    args: list[str] = []
    for parent in reversed(path.parents[:-1]):
        made = str(parent) in ("/proc", "/dev", *PRIVATE_DIRS)
        if not made and not _inside_any(parent, SYSTEM_DIRS):
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _ro_bind(path: Path) -> list[str]:
    return ["--ro-bind", str(path.resolve()), str(path)]


def _drop_to(identity: Identity, setpriv: str) -> list[str]:
    return [
        setpriv,
        f"--reuid={identity.uid}",
        f"--regid={identity.gid}",
        "--clear-groups",
        "--bounding-set=-all",
        "--inh-caps=-all",
        "--no-new-privs",
        "--",
    ]


def _bridge_addresses(api: tuple[str, int]) -> tuple[tuple[str, int], tuple[str, int]]:
    """The loopback address the function reaches the API at, and where the server forwards."""
    host, port = api
    target = ("127.0.0.1", port) if host in ("0.0.0.0", "", "localhost") else (host, port)
    return ("127.0.0.1", port), target


def api_address(url: str) -> tuple[str, int]:
    """The host and port of the API URL functions are given (__OW_API_HOST)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.hostname or "127.0.0.1", port)


def _first_child(pid: int) -> int | None:
    children = children_of(pid)
    return children[0] if children else None


def children_of(pid: int) -> list[int]:
    """The pids of `pid`'s children (none once it has gone)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:
            return [int(child) for child in f.read().split()]
    except OSError:
        return []


def runtime_paths() -> list[Path]:
    """What every function process needs beside the system's directories: this Python (the
    Python runner and builds run on it) and Sluice's own launchers and libraries."""
    package = Path(__file__).resolve().parent.parent
    return [Path(sys.prefix), Path(sys.base_prefix), package / "runtime", package / "function_libs"]


def _outermost(paths: Sequence[Path]) -> list[Path]:
    """The paths (sorted), without those inside another of them."""
    kept: list[Path] = []
    for path in paths:
        if not any(_inside(path, other) for other in kept):
            kept.append(path)
    return kept


def _inside(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def _inside_any(path: Path, names: Sequence[str]) -> bool:
    return any(_inside(path, Path(name)) for name in names)


def bwrap_works(bwrap: str) -> bool:
    """bubblewrap needs user namespaces (or root); try it once, with what the sandbox uses."""
    try:
        done = subprocess.run(
            [
                bwrap,
                "--ro-bind",
                "/usr",
                "/usr",
                *_links(),
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--unshare-pid",
                "--unshare-net",
                "--",
                "true",
            ],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _links() -> list[str]:
    args: list[str] = []
    for name in SYSTEM_LINKS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


#: the uid (and gid) function processes run as under a root server: a number no account of
#: the machine uses, so they own nothing outside their own directories
DEFAULT_UID = 1_900_000
