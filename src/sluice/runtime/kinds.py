"""The kinds of code the process runtime runs, their aliases and how their processes start."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

LAUNCHERS = Path(__file__).parent / "launchers"
NODE_RUNNER = LAUNCHERS / "node_runner.js"
PYTHON_RUNNER = LAUNCHERS / "python_runner.py"


class Family(StrEnum):
    NODEJS = "nodejs"
    PYTHON = "python"
    BLACKBOX = "blackbox"
    #: Fn's function formats (runtime/fn.py)
    FN = "fn"
    #: OpenFaaS's classic watchdog: a command per call, stdin to stdout (runtime/process_fn.py)
    PROCESS = "process"
    #: of-watchdog's http mode: a warm HTTP server per function (runtime/http_fn.py)
    HTTP = "http"


@dataclass(frozen=True)
class Kind:
    name: str
    family: Family
    aliases: tuple[str, ...] = ()

    @property
    def warm(self) -> bool:
        """Whether processes of this kind are initialised once and reused."""
        return self.family in (Family.NODEJS, Family.PYTHON)

    @property
    def concurrent(self) -> bool:
        """Whether one process runs several calls at once (an action's limits.concurrency):
        Node.js's runner does; Python's runs one call at a time."""
        return self.family is Family.NODEJS

    @property
    def serves_http(self) -> bool:
        """Whether its functions take an HTTP request and give a response (the call's
        parameters and result are runtime/fn_request.py's envelope)."""
        return self.family in (Family.FN, Family.PROCESS, Family.HTTP)


NODEJS_20 = Kind("nodejs:20", Family.NODEJS, ("nodejs:default", "nodejs"))
PYTHON_311 = Kind("python:3.11", Family.PYTHON, ("python:3", "python:default", "python"))
BLACKBOX = Kind("blackbox", Family.BLACKBOX)
FN_DEFAULT = Kind("fn:default", Family.FN)
FN_HTTP_STREAM = Kind("fn:http-stream", Family.FN)
FN_JSON = Kind("fn:json", Family.FN)
PROCESS = Kind("process", Family.PROCESS)
HTTP = Kind("http", Family.HTTP)
ALL_KINDS = (
    NODEJS_20,
    PYTHON_311,
    BLACKBOX,
    FN_DEFAULT,
    FN_HTTP_STREAM,
    FN_JSON,
    PROCESS,
    HTTP,
)


class Kinds:
    """The kinds on offer, looked up by name or alias."""

    def __init__(self, kinds: Iterable[Kind] = ALL_KINDS) -> None:
        self._kinds = list(kinds)
        self._by_name: dict[str, Kind] = {}
        for kind in self._kinds:
            for name in (kind.name, *kind.aliases):
                self._by_name[name] = kind

    def resolve(self, name: str) -> Kind | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return [kind.name for kind in self._kinds]


_EVERY_KIND = Kinds()


def serves_http(kind: str) -> bool:
    """Whether functions of the kind named `kind` serve HTTP requests (see Kind)."""
    found = _EVERY_KIND.resolve(kind)
    return found is not None and found.serves_http


def calls_per_process(kind: str, concurrency: int) -> int:
    """How many calls of a function of kind `kind` with limits.concurrency `concurrency` one
    process runs at once."""
    found = _EVERY_KIND.resolve(kind)
    return max(1, concurrency) if found is not None and found.concurrent else 1


def find_node(configured: str | None) -> str | None:
    """The node executable to use, or None when there is none."""
    if configured:
        return configured if os.access(configured, os.X_OK) else shutil.which(configured)
    return shutil.which("node")


def available_kinds(node: str | None) -> Kinds:
    """Every kind this machine can run: Node.js only when node is installed."""
    return Kinds(kind for kind in ALL_KINDS if kind.family is not Family.NODEJS or node)


def runner_argv(kind: Kind, node: str | None, memory_mb: int, channel_fd: int) -> list[str]:
    """The command line of a warm runner of `kind` talking to the parent on `channel_fd`."""
    if kind.family is Family.NODEJS:
        if node is None:
            raise FileNotFoundError("node is not installed")
        return [node, f"--max-old-space-size={memory_mb}", str(NODE_RUNNER), str(channel_fd)]
    if kind.family is Family.PYTHON:
        return [sys.executable, "-S", "-u", str(python_runner_script()), str(channel_fd)]
    raise ValueError(f"{kind.name} has no warm runner")


@cache
def python_runner_script() -> Path:
    """The Python runner compiled, where an import would cache it (__pycache__), written once
    per server process: a script run from source is compiled at every start (1-2 ms of each
    cold start here). The source itself when that directory is not writable."""
    compiled = Path(importlib.util.cache_from_source(str(PYTHON_RUNNER)))
    try:
        py_compile.compile(str(PYTHON_RUNNER), cfile=str(compiled), doraise=True)
    except (OSError, py_compile.PyCompileError):
        return PYTHON_RUNNER
    return compiled


def path_env(
    kind: Kind, node_path: tuple[str, ...], python_path: tuple[str, ...]
) -> dict[str, str]:
    """The module search path variable a runner of `kind` starts with."""
    if kind.family is Family.NODEJS and node_path:
        return {"NODE_PATH": os.pathsep.join(node_path)}
    if kind.family is Family.PYTHON and python_path:
        return {"PYTHONPATH": os.pathsep.join(python_path)}
    return {}
