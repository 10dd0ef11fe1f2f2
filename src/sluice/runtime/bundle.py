"""A function's unpacked code and the dependency environments its build attached.

A build (sluice.build) installs a function's `requirements.txt` or `package.json` once per
content hash under the builds dir and writes the hashes into the code it stores, in the
file `.sluice-build.json` at the top of the zip. The runtime reads that file to put the
environments on the function's module search path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import orjson

MANIFEST = ".sluice-build.json"
PYTHON = "python"
NODE = "node"
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Deps:
    """Directories to import a function's dependencies from."""

    python: Path | None = None
    #: a node_modules directory
    node: Path | None = None


def env_dir(builds_dir: Path, family: str, digest: str) -> Path:
    """Where the environment of `family` with content hash `digest` lives."""
    return builds_dir / family / digest


def manifest_bytes(hashes: dict[str, str]) -> bytes:
    return orjson.dumps(hashes, option=orjson.OPT_SORT_KEYS)


def read_deps(home: Path, builds_dir: Path | None) -> Deps:
    """The environments named in `home`'s manifest that exist; none without a manifest."""
    path = home / MANIFEST
    if builds_dir is None or not path.is_file():
        return Deps()
    try:
        hashes = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return Deps()
    if not isinstance(hashes, dict):
        return Deps()

    def pick(family: str, tail: str = "") -> Path | None:
        digest = hashes.get(family)
        if not isinstance(digest, str) or not _HASH.match(digest):
            return None
        found = env_dir(builds_dir, family, digest)
        found = found / tail if tail else found
        return found if found.is_dir() else None

    return Deps(python=pick(PYTHON), node=pick(NODE, "node_modules"))


def link_node_modules(home: Path, node_modules: Path) -> None:
    """Let `require` in `home` find `node_modules` (Node looks in each parent directory's
    node_modules); a node_modules the function bundles itself wins."""
    target = home / "node_modules"
    if not target.exists():
        target.symlink_to(node_modules, target_is_directory=True)
