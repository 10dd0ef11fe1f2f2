"""Launching a function's process seeing, besides what every function sees, the build
directories of its own code (`visible`): the builds dir itself is hidden from functions, so
no function lists or reads another namespace's builds (or another function's of its own).

The sandbox's launch does not take `visible` yet (src/sluice/sandbox/ is being rewritten):
until it does, a bubblewrap sandbox gets the directories by a copy of it made for the one
launch, with them among its visible ones. Once `Sandbox.launch(argv, env, cwd, visible=...)`
exists, this is that call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sluice.sandbox.base import LaunchSpec, Sandbox
from sluice.sandbox.bwrap import BwrapSandbox


def launch(
    sandbox: Sandbox,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    visible: Sequence[Path] = (),
) -> LaunchSpec:
    """`sandbox.launch(argv, env, cwd)` for a process that may also read `visible`."""
    if visible and isinstance(sandbox, BwrapSandbox):
        extra = [*sandbox.visible, *visible]
        sandbox = BwrapSandbox(sandbox.bwrap, sandbox.hidden, extra, sandbox.inner)
    return sandbox.launch(argv, env, cwd)
