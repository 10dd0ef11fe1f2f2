"""First-start chores: the platform secret, the guest namespace and its client config, and
the npm packages the Node.js runtime offers to functions."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger("sluice")

#: npm packages every Node.js function can require without bundling them (as on I/O Runtime)
NODE_PACKAGES = ("openwhisk@3.21.9",)


def platform_secret(data_dir: Path) -> bytes:
    """The secret function keys are derived from; made once, readable by the owner only."""
    env = os.environ.get("SLUICE_SECRET")
    if env:
        return env.encode()
    path = data_dir / "secret"
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        # written aside, then linked into place: the API process and its worker process may
        # both get here on a first start, and neither may read a half-written secret
        aside = data_dir / f".secret.{os.getpid()}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # the other one's is the secret
        finally:
            aside.unlink()
    return path.read_text().strip().encode()


def ensure_node_packages(modules: Path) -> Path | None:
    """Install the functions' npm packages into `modules` once; None when npm is missing."""
    wanted = [name.rpartition("@")[0] for name in NODE_PACKAGES]
    if all((modules / name / "package.json").exists() for name in wanted):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        log.warning("npm not found: Node.js functions cannot require %s", ", ".join(wanted))
        return None
    prefix = modules.parent
    prefix.mkdir(parents=True, exist_ok=True)
    log.info("installing %s for Node.js functions into %s", ", ".join(NODE_PACKAGES), prefix)
    command = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        "--prefix",
        str(prefix),
        *NODE_PACKAGES,
    ]
    for attempt in range(1, 4):
        done = subprocess.run(
            command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
        )
        if done.returncode == 0:
            return modules
        log.warning("npm install failed (attempt %d of 3): %s", attempt, done.stderr.strip())
    log.error("Node.js functions cannot require %s: npm install failed", ", ".join(wanted))
    return None
