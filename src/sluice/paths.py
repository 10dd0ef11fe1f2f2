"""Where Sluice keeps things by default (XDG base directories). Kept free of heavy imports:
the CLI reads it on every command."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: a memory-backed filesystem on nearly every Linux machine
SHM = Path("/dev/shm")  # noqa: S108


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sluice"


def default_client_config() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sluice" / "wskprops"


def default_work_dir(data_dir: Path) -> Path:
    """Where function processes' own directories live: apart from the data dir, so that a
    function filling its directory cannot fill the store's disk. /dev/shm where it is a
    tmpfs (whose pages count toward the memory limit of the process that writes them), one
    directory per user and data dir; else the data dir's work/."""
    if _is_tmpfs(SHM) and os.access(SHM, os.W_OK | os.X_OK):
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        return SHM / f"sluice-work-{os.geteuid()}-{digest}"
    return data_dir / "work"


def _is_tmpfs(path: Path) -> bool:
    try:
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1:3] == [str(path), "tmpfs"] for line in mounts if line.strip())
    except OSError:
        return False


def private_dir(path: Path) -> Path:
    """`path` made (mode 0700) or found as a real directory of this user's; a link or another
    user's directory there (someone else's in a shared /dev/shm) is refused."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = path.lstat()
    if path.is_symlink() or found.st_uid != os.geteuid():
        raise PermissionError(
            f"{path} is not a directory of this user's: remove it or set SLUICE_WORK_DIR"
        )
    os.chmod(path, 0o700)
    return path
