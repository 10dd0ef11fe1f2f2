"""The isolation seam: how a function's process is launched.

The runtime decides *what* to run (argv, the variables the function must see, its working
directory); a `Sandbox` decides *how*: which environment the process really gets, its resource
limits and its session. The runtime never hands a child its own environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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


class Sandbox(Protocol):
    def launch(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> LaunchSpec:
        """The launch spec for `argv` run in `cwd` (its own fresh directory, used as HOME and
        TMPDIR) seeing the variables `env` on top of the sandbox's minimal base."""
