"""The isolation seam: how a function's process is launched and held.

The runtime decides *what* to run (argv, the variables the function must see, its working
directory); a `Sandbox` decides *how*: which environment the process really gets, as which
user, what it can see and reach, its resource limits and its session. The runtime never hands
a child its own environment.

A launch may come with a `Confiner`: started, the process waits until the confiner has put
it in its place (its control group, its network) and only then runs the function's code.
What the confiner returns, a `Confinement`, stays with the process until it is gone.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from sluice.sandbox.api_bridge import Forward, SamePort

#: where a sandboxed process finds its secrets, one read-only file each (OpenFaaS's path)
SECRETS_DIR = "/var/openfaas/secrets"
#: the variable that tells a process where its secrets are
SECRETS_VARIABLE = "SLUICE_SECRETS"


class Network(StrEnum):
    """What a function process can reach."""

    #: nothing, not even Sluice's API (a loopback of its own)
    NONE = "none"
    #: Sluice's API alone, at the address __OW_API_HOST names
    API = "api-only"
    #: Sluice's API and the internet, but no host, loopback or private address
    EGRESS = "egress"
    #: the host's network as it is (only where the operator allows it)
    HOST = "host"


class Confinement(Protocol):
    """What holds one started process: its limits, and what else runs beside it."""

    def limit_memory(self, memory_mb: int) -> None:
        """Cap the memory of the process and everything it starts."""

    def kill_strays(self, keep_children: bool = False) -> int:
        """Kill whatever the process started that still runs; how many were killed.
        `keep_children`: its own children stay (a runner keeping its action in a process)."""

    def out_of_memory(self) -> bool:
        """Whether the kernel killed something in it for its memory limit."""

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to `port` on the loopback of the process's network."""

    async def forward(self, port: int) -> Forward:
        """A port on the server's loopback that reaches `port` on the process's loopback."""

    async def release(self) -> None:
        """The process is gone: free what held it."""


class Confiner(Protocol):
    async def attach(self, pid: int) -> Confinement:
        """Place the just-started process `pid` and let it run."""

    def discard(self) -> None:
        """The process could not be started: close what the launch had opened."""


@dataclass(frozen=True)
class LaunchSpec:
    """Everything `subprocess` needs to start one isolated process."""

    argv: tuple[str, ...]
    #: the complete environment of the child (never merged with the parent's)
    env: Mapping[str, str]
    cwd: Path
    #: a new session and process group, so that killing the group takes the children too
    start_new_session: bool = True
    #: runs in the child between fork and exec (resource limits)
    preexec_fn: Callable[[], None] | None = None
    #: descriptors the sandbox itself passes to the child (besides the runtime's)
    pass_fds: tuple[int, ...] = ()
    confiner: Confiner | None = None


class Sandbox(Protocol):
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
        """The launch spec for `argv` run in `cwd` (its own fresh directory, used as HOME and
        TMPDIR) seeing the variables `env` on top of the sandbox's minimal base, and, besides
        what every process sees, the directories `visible` read-only (its code's build
        environments); `network` (a `Network` value) in place of the sandbox's own;
        `secrets` (name -> value) as read-only files of that process alone, in the directory
        SLUICE_SECRETS names (/var/openfaas/secrets in the bubblewrap sandbox)."""

    def with_network(self, network: Network) -> Sandbox:
        """The same sandbox with another network (builds fetch their packages)."""

    def close(self) -> None:
        """No process runs in it any more: remove what it made (its control groups)."""


class Unconfined:
    """The confinement of a process with no control group: nothing to add or release."""

    def limit_memory(self, memory_mb: int) -> None:
        return None

    def kill_strays(self, keep_children: bool = False) -> int:
        return 0

    def out_of_memory(self) -> bool:
        return False

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port)

    async def forward(self, port: int) -> Forward:
        return SamePort(port)  # the host's own network

    async def release(self) -> None:
        return None


UNCONFINED = Unconfined()


def give(home: Path, uid: int, gid: int) -> None:
    """Make a process's directory, and what was laid out in it for it, its own."""
    os.chown(home, uid, gid)
    for parent, dirs, files in os.walk(home):
        for name in (*dirs, *files):
            os.lchown(os.path.join(parent, name), uid, gid)
