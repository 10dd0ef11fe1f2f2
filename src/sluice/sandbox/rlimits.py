"""The default sandbox: a clean minimal environment, resource limits, a session of its own.

This is process hygiene, not a security boundary against hostile code: functions run as the
platform's user. It keeps the platform's secrets (its environment) out of functions, keeps
core dumps off the disk and lets a kill reach every process a function started.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping, Sequence
from pathlib import Path

from sluice.sandbox.base import LaunchSpec

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: (soft, hard) per resource; applied in the child before exec
DEFAULT_LIMITS: Mapping[int, tuple[int, int]] = {resource.RLIMIT_CORE: (0, 0)}


def base_env(home: Path, path: str = DEFAULT_PATH) -> dict[str, str]:
    """The variables every function process starts with, whatever its kind."""
    return {"PATH": path, "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(home)}


class RlimitSandbox:
    def __init__(
        self, path: str = DEFAULT_PATH, limits: Mapping[int, tuple[int, int]] | None = None
    ) -> None:
        self.path = path
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)

    def launch(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> LaunchSpec:
        return LaunchSpec(
            argv=tuple(argv),
            env={**base_env(cwd, self.path), **env},
            cwd=cwd,
            start_new_session=True,
            preexec_fn=self._apply_limits if self.limits else None,
        )

    def _apply_limits(self) -> None:
        # In the forked child, before exec: keep it to plain system calls.
        for which, value in self.limits.items():
            resource.setrlimit(which, value)
