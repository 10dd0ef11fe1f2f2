"""Build outputs by namespace and content hash: a directory appears whole (renamed into
place) or not at all, and one build per namespace and hash runs at a time. Each namespace
builds its own: no function sees what another namespace's build made."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Iterable
from pathlib import Path

from sluice.runtime.bundle import adopt_legacy, env_dir


def digest(*parts: bytes | str) -> str:
    """sha256 over `parts`, each length-prefixed so that no two lists collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def tree_parts(root: Path, skip: Iterable[str] = ()) -> list[bytes]:
    """Every file under `root` (path, mode and content), in a stable order."""
    skipped = set(skip)
    parts: list[bytes] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = str(path.relative_to(root))
        if relative in skipped:
            continue
        parts += [relative.encode(), oct(path.stat().st_mode & 0o111).encode(), path.read_bytes()]
    return parts


class BuildCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    def path(self, namespace: str, family: str, key: str) -> Path:
        return env_dir(self.root, namespace, family, key)

    def lock(self, namespace: str, family: str, key: str) -> asyncio.Lock:
        return self._locks.setdefault((namespace, family, key), asyncio.Lock())

    def has(self, namespace: str, family: str, key: str) -> bool:
        """Whether the output is there (one of the old shared layout becomes the namespace's)."""
        return self.path(namespace, family, key).is_dir() or adopt_legacy(
            self.root, namespace, family, key
        )

    def install(self, made: Path, namespace: str, family: str, key: str) -> Path:
        """Move the directory `made` into place as `namespace`'s output for (family, key)."""
        target = self.path(namespace, family, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{key}.incoming")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.move(str(made), staging)
        staging.rename(target)
        return target
