"""A bubblewrap sandbox: the function sees the machine's files read-only, its own directory
writable, and nothing of Sluice's data dir (the store, the platform secret, other functions'
directories) or client config. It shares the network, so it can call the API on loopback.

This hides the platform's state from function code; it does not make hostile code safe to
run next to other users' files: run Sluice as a user of its own for that.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from sluice.sandbox.base import LaunchSpec, Sandbox
from sluice.sandbox.rlimits import RlimitSandbox

log = logging.getLogger("sluice.sandbox")


class BwrapSandbox:
    def __init__(
        self,
        bwrap: str,
        hidden: Sequence[Path],
        visible: Sequence[Path] = (),
        inner: RlimitSandbox | None = None,
    ) -> None:
        """`hidden` directories appear empty; `visible` ones (inside hidden ones, such as
        the npm packages offered to functions) are shown again, read-only."""
        self.bwrap = bwrap
        # bwrap cannot make a mount point on the read-only root: hide what exists
        self.hidden = [p.resolve() for p in hidden if p.exists()]
        self.visible = [p.resolve() for p in visible if p.exists()]
        self.inner = inner or RlimitSandbox()

    def launch(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> LaunchSpec:
        spec = self.inner.launch(argv, env, cwd)
        wrapper = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for path in self.hidden:
            wrapper += ["--tmpfs", str(path)]
        for path in self.visible:
            wrapper += ["--ro-bind", str(path), str(path)]
        home = cwd.resolve()
        wrapper += [
            "--bind",
            str(home),
            str(home),
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--die-with-parent",
            "--new-session",
            "--chdir",
            str(home),
            "--",
        ]
        return LaunchSpec(
            argv=(*wrapper, *spec.argv),
            env=spec.env,
            cwd=spec.cwd,
            start_new_session=spec.start_new_session,
            preexec_fn=spec.preexec_fn,
        )


def bwrap_works(bwrap: str) -> bool:
    """bubblewrap needs user namespaces (or root); try it once."""
    try:
        done = subprocess.run(
            [
                bwrap,
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--unshare-pid",
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


def choose_sandbox(mode: str, hidden: Sequence[Path], visible: Sequence[Path]) -> Sandbox:
    """`bwrap` (required), `none` (environment and limits only) or `auto` (bwrap if it works)."""
    if mode == "none":
        return RlimitSandbox()
    bwrap = shutil.which("bwrap")
    if bwrap is not None and bwrap_works(bwrap):
        return BwrapSandbox(bwrap, hidden, visible)
    if mode == "bwrap":
        raise RuntimeError("SLUICE_SANDBOX=bwrap, but bubblewrap (bwrap) is missing or fails")
    log.warning(
        "bubblewrap (bwrap) is not available: functions can read Sluice's data dir. "
        "Install it (Debian: apt-get install bubblewrap) to hide it from them."
    )
    return RlimitSandbox()
