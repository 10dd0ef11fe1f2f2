"""The default sandbox: a clean minimal environment, resource limits, a session of its own.

This is process hygiene, not a security boundary against hostile code: functions run as the
platform's user. It keeps the platform's secrets (its environment) out of functions, keeps
core dumps off the disk and lets a kill reach every process a function started.

The core limit is the platform process's own too (no core dump of the server either): children
inherit it, so a launch with the default limits runs no code between fork and exec. With such
code (a preexec_fn) subprocess forks the whole server instead of a vfork, which took 5-12 ms
per spawn at 80 MB RSS here: the larger part of a cold start.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from sluice.sandbox.base import SECRETS_VARIABLE, LaunchSpec, Network

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: (soft, hard) per resource; applied in the child before exec unless the platform's own
#: process has them already
DEFAULT_LIMITS: Mapping[int, tuple[int, int]] = {resource.RLIMIT_CORE: (0, 0)}
#: limits the platform's process takes itself: lowering them harms nothing of it
OWN_LIMITS = frozenset({resource.RLIMIT_CORE})


def base_env(home: Path, path: str = DEFAULT_PATH) -> dict[str, str]:
    """The variables every function process starts with, whatever its kind."""
    return {"PATH": path, "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(home)}


class RlimitSandbox:
    def __init__(
        self, path: str = DEFAULT_PATH, limits: Mapping[int, tuple[int, int]] | None = None
    ) -> None:
        self.path = path
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        for which in OWN_LIMITS & self.limits.keys():
            _lower_own(which, self.limits[which])

    def with_network(self, network: Network) -> RlimitSandbox:
        return self  # the host's network: this sandbox has no other

    def close(self) -> None:
        return None

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
        # `visible`, `network`: this sandbox hides nothing and has only the host's network
        # what the child would not inherit (checked per launch: the process's limits may move)
        pending = {w: v for w, v in self.limits.items() if resource.getrlimit(w) != v}
        extra = {SECRETS_VARIABLE: str(_write_secrets(cwd, secrets))} if secrets else {}
        return LaunchSpec(
            argv=tuple(argv),
            env={**base_env(cwd, self.path), **env, **extra},
            cwd=cwd,
            start_new_session=True,
            preexec_fn=partial(_apply_limits, pending) if pending else None,
        )


def _write_secrets(home: Path, secrets: Mapping[str, bytes]) -> Path:
    """Unconfined, a process cannot be shown /var/openfaas/secrets: its secrets are files
    of its own directory, readable by the server's user only (who runs it anyway)."""
    folder = home / ".secrets"
    folder.mkdir(mode=0o700)
    for name, value in secrets.items():
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(value)
    return folder


def _lower_own(which: int, value: tuple[int, int]) -> None:
    soft, hard = resource.getrlimit(which)
    lowered = (_lower(soft, value[0]), _lower(hard, value[1]))
    if lowered != (soft, hard):
        resource.setrlimit(which, lowered)


def _lower(current: int, wanted: int) -> int:
    if current == resource.RLIM_INFINITY:
        return wanted
    return current if wanted == resource.RLIM_INFINITY else min(current, wanted)


def _apply_limits(limits: Mapping[int, tuple[int, int]]) -> None:
    # In the forked child, before exec: keep it to plain system calls.
    for which, value in limits.items():
        resource.setrlimit(which, value)
