"""The kinds of code the process runtime runs, their aliases and how their processes start."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import re
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sluice.kinds import FAMILIES, Family
from sluice.runtime.interpreters import Found, Interpreter, Refused, newest

LAUNCHERS = Path(__file__).parent / "launchers"
NODE_RUNNER = LAUNCHERS / "node_runner.js"
PYTHON_RUNNER = LAUNCHERS / "python_runner.py"
ACTIONLOOP_RUNNER = LAUNCHERS / "actionloop.py"


@dataclass(frozen=True)
class Kind:
    name: str
    family: Family
    aliases: tuple[str, ...] = ()
    #: what runs the code of a versioned kind (node, python, go, a configured interpreter)
    interpreter: Interpreter | None = None

    @property
    def warm(self) -> bool:
        """Whether processes of this kind are initialised once and reused."""
        return self.family in (Family.NODEJS, Family.PYTHON, Family.ACTIONLOOP)

    @property
    def concurrent(self) -> bool:
        """Whether one process runs several calls at once (an action's limits.concurrency):
        Node.js's runner does; the others run one call at a time."""
        return self.family is Family.NODEJS

    @property
    def has_action_process(self) -> bool:
        """Whether its runner keeps the action in a process of its own (actionloop): that
        process is no stray of a call (what the action itself starts is)."""
        return self.family is Family.ACTIONLOOP

    @property
    def serves_http(self) -> bool:
        """Whether its functions take an HTTP request and give a response (the call's
        parameters and result are sluice/envelope.py's)."""
        return self.family in (Family.FN, Family.PROCESS, Family.HTTP)

    @property
    def prefix(self) -> str:
        """The family part of its name, as OpenWhisk groups kinds (nodejs, python, go)."""
        return self.name.partition(":")[0]

    def shown(self) -> list[Path]:
        """What its processes must see read-only besides the system's directories."""
        return self.interpreter.shown() if self.interpreter is not None else []


NODEJS_20 = Kind("nodejs:20", Family.NODEJS, ("nodejs:default", "nodejs"))
PYTHON_311 = Kind("python:3.11", Family.PYTHON, ("python:3", "python:default", "python"))
BLACKBOX = Kind("blackbox", Family.BLACKBOX)
FN_DEFAULT = Kind("fn:default", Family.FN)
FN_HTTP_STREAM = Kind("fn:http-stream", Family.FN)
FN_JSON = Kind("fn:json", Family.FN)
PROCESS = Kind("process", Family.PROCESS)
HTTP = Kind("http", Family.HTTP)
#: the kinds that need no interpreter of their own
FIXED_KINDS = (BLACKBOX, FN_DEFAULT, FN_HTTP_STREAM, FN_JSON, PROCESS, HTTP)
ALL_KINDS = (NODEJS_20, PYTHON_311, *FIXED_KINDS)
#: OpenWhisk's API document's kinds (its ActionExec enum) and the versions users name beside
#: them: a kind in here that is not installed is refused with how to add it
KNOWN_KINDS = (
    "nodejs:16",
    "nodejs:18",
    "nodejs:20",
    "nodejs:22",
    "nodejs:24",
    "nodejs:default",
    "python:3.9",
    "python:3.10",
    "python:3.11",
    "python:3.12",
    "python:3.13",
    "python:default",
    "go:1.20",
    "go:1.21",
    "go:1.22",
    "go:default",
    "java:8",
    "java:default",
    "php:8.1",
    "php:default",
    "ruby:2.5",
    "ruby:default",
    "swift:5.3",
    "swift:5.7",
    "swift:default",
    "dotnet:3.1",
    "dotnet:6.0",
    "dotnet:default",
    "rust:1.34",
    "rust:default",
    "blackbox",
    "sequence",
)


def versioned_kinds(found: Found) -> list[Kind]:
    """A kind for each interpreter found; the newest of each family takes its aliases
    (`nodejs:default`, `nodejs`; `python:3` too; `go:default`...)."""
    by_prefix: dict[str, list[Interpreter]] = {}
    for interpreter in found.served:
        by_prefix.setdefault(interpreter.family, []).append(interpreter)
    kinds: list[Kind] = []
    for prefix, interpreters in by_prefix.items():
        best = newest([i.kind.partition(":")[2] for i in interpreters])
        for interpreter in sorted(interpreters, key=lambda i: _number(i.kind)):
            version = interpreter.kind.partition(":")[2]
            aliases: tuple[str, ...] = ()
            if version == best:
                aliases = (f"{prefix}:default", prefix)
                if prefix == "python":
                    aliases = ("python:3", *aliases)
            family = Family.ACTIONLOOP
            if interpreter.runner is None and prefix in ("nodejs", "python"):
                family = FAMILIES[prefix]
            kinds.append(Kind(interpreter.kind, family, aliases, interpreter))
    return kinds


def _number(kind: str) -> tuple[int, ...]:
    return tuple(int(p) for p in kind.partition(":")[2].split("."))


class Kinds:
    """The kinds on offer, looked up by name or alias; why one that is not is refused."""

    def __init__(self, kinds: Iterable[Kind] = ALL_KINDS, refused: Iterable[Refused] = ()) -> None:
        self._kinds = list(kinds)
        self._refused = {r.kind: r.reason for r in refused}
        self._by_name: dict[str, Kind] = {}
        for kind in self._kinds:
            for name in (kind.name, *kind.aliases):
                self._by_name[name] = kind

    def resolve(self, name: str) -> Kind | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return [kind.name for kind in self._kinds]

    def by_family(self) -> dict[str, list[dict[str, Any]]]:
        """The served kinds grouped by family, as OpenWhisk's API info lists its runtimes:
        each `{"kind", "image", "deprecated", "default", "attached", "requireMain"}`, the one
        `family:default` names (or a family's only kind) marked default."""
        groups: dict[str, list[Kind]] = {}
        for kind in self._kinds:
            groups.setdefault(kind.prefix, []).append(kind)
        out: dict[str, list[dict[str, Any]]] = {}
        for prefix, kinds in groups.items():
            default = self.resolve(f"{prefix}:default")
            out[prefix] = [
                {
                    "kind": kind.name,
                    "image": f"sluice/{kind.name.replace(':', '-v')}",
                    "deprecated": False,
                    "default": kind is default or len(kinds) == 1,
                    "attached": kind.family is Family.BLACKBOX,
                    "requireMain": False,
                }
                for kind in kinds
            ]
        return out

    def refusal(self, name: str) -> str:
        """Why `name` is not served: what is installed and how to add it."""
        installed = ", ".join(self.names())
        prefix, _, version = name.partition(":")
        known = {k.partition(":")[0] for k in KNOWN_KINDS if ":" in k}
        if not _KIND_NAME.match(name) or (not version and prefix not in known):
            return f"The kind '{name}' is not supported. Installed kinds: {installed}."
        why = self._refused.get(name)
        head = f"The kind '{name}' is not installed on this server" + (f": {why}." if why else ".")
        add = name if version and version != "default" else f"{prefix}:VERSION"
        program = _PROGRAM.get(prefix)
        if program is not None:
            how = f"SLUICE_RUNTIMES='{add}=/path/to/{program}'"
        else:
            runner = "/path/to/runner' (an actionloop runner)"
            how = f"SLUICE_RUNTIMES='{add}=/path/to/{prefix} {runner}"
        return f"{head} Installed kinds: {installed}. Add it with {how}; see docs/runtimes.md."


_KIND_NAME = re.compile(r"^[a-z][a-z0-9]*(:(\d+(\.\d+)*|default))?$")
_PROGRAM = {"nodejs": "node", "python": "python3", "go": "go"}


def find_node(configured: str | None) -> str | None:
    """The node executable to use, or None when there is none."""
    if configured:
        return configured if os.access(configured, os.X_OK) else shutil.which(configured)
    return shutil.which("node")


def available_kinds(found: Found) -> Kinds:
    """Every kind this machine can run: one per interpreter found, and those that need none."""
    return Kinds([*versioned_kinds(found), *FIXED_KINDS], found.refused)


def runner_argv(kind: Kind, node: str | None, memory_mb: int, channel_fd: int) -> list[str]:
    """The command line of a warm runner of `kind` talking to the parent on `channel_fd`:
    the kind's own interpreter (node, python) where it has one."""
    interpreter = kind.interpreter.path if kind.interpreter is not None else None
    if kind.family is Family.NODEJS:
        node = interpreter or node
        if node is None:
            raise FileNotFoundError("node is not installed")
        return [node, f"--max-old-space-size={memory_mb}", str(NODE_RUNNER), str(channel_fd)]
    if kind.family is Family.PYTHON:
        if interpreter is None or interpreter == os.path.realpath(sys.executable):
            # the server's own Python runs the runner it compiled
            return [sys.executable, "-S", "-u", str(python_runner_script()), str(channel_fd)]
        return [interpreter, "-S", "-u", str(PYTHON_RUNNER), str(channel_fd)]
    if kind.family is Family.ACTIONLOOP and kind.interpreter is not None:
        loop = [sys.executable, "-S", "-u", str(ACTIONLOOP_RUNNER), str(channel_fd)]
        if kind.interpreter.runner is None:  # Go: its toolchain builds the action
            return [*loop, "--go", kind.interpreter.path]
        return [*loop, kind.interpreter.path, kind.interpreter.runner]
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
