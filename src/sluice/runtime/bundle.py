"""A function's unpacked code and the dependency environments its build attached.

A build (sluice.build) installs a function's `requirements.txt` or `package.json` once per
namespace and content hash under the builds dir and writes the hashes into the code it
stores, in the file `.sluice-build.json` at the top of the zip. The runtime reads that file
to put the environments on the function's module search path, and shows the process those
directories alone: a namespace's builds are its own (another's compiled binaries and
environments are not even listed), and the hashes in a manifest name environments of the
code's own namespace only, whatever a hand-made manifest says.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

MANIFEST = ".sluice-build.json"
PYTHON = "python"
NODE = "node"
_HASH = re.compile(r"^[0-9a-f]{64}$")
#: the largest manifest read (one is a few hashes)
_MANIFEST_MAX = 4096


@dataclass(frozen=True, slots=True)
class Deps:
    """Directories to import a function's dependencies from."""

    python: Path | None = None
    #: a node_modules directory
    node: Path | None = None

    @property
    def dirs(self) -> tuple[Path, ...]:
        """What the function's process must be able to read of the builds dir."""
        return tuple(path for path in (self.python, self.node) if path is not None)


def command_paths(home: Path, deps: Deps, env: Mapping[str, str]) -> dict[str, str]:
    """PYTHONPATH and NODE_PATH of a command's process (kinds process and http): its own
    files and its environments, before what its own variables name."""
    out: dict[str, str] = {}
    python = [str(home), *([str(deps.python)] if deps.python else [])]
    if deps.python:
        out["PYTHONPATH"] = os.pathsep.join([*python, *filter(None, [env.get("PYTHONPATH")])])
    if deps.node:
        out["NODE_PATH"] = os.pathsep.join([str(deps.node), *filter(None, [env.get("NODE_PATH")])])
    return out


def namespace_dir(builds_dir: Path, namespace: str) -> Path:
    """The builds of `namespace`. Named by a hash of the name: a namespace name may be longer
    than a file name may, and may be spelled like one of the old layout's directories."""
    return builds_dir / f"ns-{hashlib.sha256(namespace.encode()).hexdigest()[:32]}"


def env_dir(builds_dir: Path, namespace: str, family: str, digest: str) -> Path:
    """Where `namespace`'s build of `family` with content hash `digest` lives."""
    return namespace_dir(builds_dir, namespace) / family / digest


def legacy_env_dir(builds_dir: Path, family: str, digest: str) -> Path:
    """Where builds made before they were kept per namespace live (shared by all)."""
    return builds_dir / family / digest


def adopt_legacy(builds_dir: Path, namespace: str, family: str, digest: str) -> bool:
    """Give `namespace` its own copy of an old-layout build of (`family`, `digest`), if there
    is one (hard links where the file system allows: a function sees its builds read-only).
    True when the namespace has the build now."""
    target = env_dir(builds_dir, namespace, family, digest)
    source = legacy_env_dir(builds_dir, family, digest)
    if target.is_dir():
        return True
    if not source.is_dir():
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(f".{digest}.adopting", ".", target.parent))
    except OSError:
        return False
    try:
        _copy(source, staging)
        with contextlib.suppress(OSError):  # another call adopted it first
            staging.rename(target)
    except (OSError, shutil.Error):
        pass  # nothing adopted: the function runs without it, as before its build was there
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target.is_dir()


def _copy(source: Path, dest: Path) -> None:
    try:
        shutil.copytree(source, dest, symlinks=True, copy_function=os.link, dirs_exist_ok=True)
    except (OSError, shutil.Error):  # on another file system: copy the files
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest, symlinks=True)


def manifest_bytes(hashes: dict[str, str]) -> bytes:
    return orjson.dumps(hashes, option=orjson.OPT_SORT_KEYS)


def read_deps(home: Path, builds_dir: Path | None, namespace: str) -> Deps:
    """The environments of `namespace` named in `home`'s manifest that exist; none without
    a manifest."""
    path = home / MANIFEST
    if builds_dir is None or not path.is_file():
        return Deps()
    with path.open("rb") as file:
        data = file.read(_MANIFEST_MAX)
    return _resolve(_hashes(data), builds_dir, namespace)


def zip_deps(code: str, builds_dir: Path | None, namespace: str) -> Deps:
    """What `read_deps` finds once base64 zip `code` is unpacked, read from the zip itself:
    for a process that must be launched seeing them. None when it is not a readable zip
    (unpacking it says why)."""
    if builds_dir is None:
        return Deps()
    try:
        with (
            zipfile.ZipFile(io.BytesIO(base64.b64decode(code))) as archive,
            archive.open(MANIFEST) as file,
        ):
            data = file.read(_MANIFEST_MAX)
    except (binascii.Error, ValueError, KeyError, OSError, zipfile.BadZipFile):
        return Deps()
    return _resolve(_hashes(data), builds_dir, namespace)


def _hashes(data: bytes) -> dict[str, Any]:
    try:
        hashes = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return hashes if isinstance(hashes, dict) else {}


def _resolve(hashes: dict[str, Any], builds_dir: Path, namespace: str) -> Deps:
    def pick(family: str, tail: str = "") -> Path | None:
        digest = hashes.get(family)
        if not isinstance(digest, str) or not _HASH.match(digest):
            return None
        if not adopt_legacy(builds_dir, namespace, family, digest):
            return None
        found = env_dir(builds_dir, namespace, family, digest)
        found = found / tail if tail else found
        return found if found.is_dir() else None

    return Deps(python=pick(PYTHON), node=pick(NODE, "node_modules"))


def link_node_modules(home: Path, node_modules: Path) -> None:
    """Let `require` in `home` find `node_modules` (Node looks in each parent directory's
    node_modules); a node_modules the function bundles itself wins."""
    target = home / "node_modules"
    if not target.exists():
        target.symlink_to(node_modules, target_is_directory=True)
