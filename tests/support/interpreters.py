"""Interpreters on this machine other than the ones a server finds by itself, for the tests
of versioned kinds: a second Python (pyenv's installs, when there are any) and `node`'s real
major version (to name a kind it is not)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().lstrip("v").split(".")[0])


def other_pythons() -> dict[str, Path]:
    """python:3.X kind -> an installed interpreter of that version, the server's excluded."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    found: dict[str, Path] = {}
    for candidate in sorted(Path.home().glob(".pyenv/versions/3.*/bin/python3.*")):
        match = re.fullmatch(r"python(3\.\d+)", candidate.name)
        if match is None or match.group(1) == own:
            continue
        version = match.group(1)
        if version in ("3.9", "3.10", "3.11", "3.12", "3.13") and candidate.is_file():
            found[f"python:{version}"] = candidate
    return found


def second_node() -> tuple[str, Path] | None:
    """The nodejs kind and binary of the second Node.js scripts/test installs
    (SLUICE_TEST_NODE22, from scripts/lib/node-tools.sh's install_node_versions), if any."""
    path = os.environ.get("SLUICE_TEST_NODE22")
    if not path or not os.access(path, os.X_OK):
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    return f"nodejs:{out.stdout.strip().lstrip('v').split('.')[0]}", Path(path)
