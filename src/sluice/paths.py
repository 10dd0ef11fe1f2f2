"""Where Sluice keeps things by default (XDG base directories). Kept free of heavy imports:
the CLI reads it on every command."""

from __future__ import annotations

import hashlib
import os
import shutil
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


#: in a work dir of the default kind: the data dir it serves
_OWNER_FILE = ".data-dir"


def claim_work_dir(work_dir: Path, data_dir: Path) -> Path:
    """`work_dir` made private and marked with the data dir it serves; the default kind's
    siblings whose data dir is gone (a test's, a deleted install's) are removed, since
    nothing would ever start on them again to sweep them."""
    private_dir(work_dir)
    if work_dir.parent == SHM:
        (work_dir / _OWNER_FILE).write_text(str(data_dir.resolve()))
        for sibling in SHM.glob(f"sluice-work-{os.geteuid()}-*"):
            _remove_orphan(sibling)
    return work_dir


def _remove_orphan(work_dir: Path) -> None:
    try:
        if work_dir.is_symlink() or work_dir.lstat().st_uid != os.geteuid():
            return
        owner = Path((work_dir / _OWNER_FILE).read_text())
    except (OSError, ValueError):
        return  # not marked (yet): leave it
    if not owner.exists():
        shutil.rmtree(work_dir, ignore_errors=True)


def release_work_dir(work_dir: Path) -> None:
    """At a clean stop: remove the work dir once no process directory is left in it."""
    try:
        if {entry.name for entry in work_dir.iterdir()} <= {_OWNER_FILE}:
            (work_dir / _OWNER_FILE).unlink(missing_ok=True)
            work_dir.rmdir()
    except OSError:
        pass
