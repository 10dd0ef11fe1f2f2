"""How an Fn function's process starts: its command line (func.yaml `cmd`/`entrypoint`,
written for Fn's containers) mapped onto this machine, and its environment."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sluice.runtime.bundle import Deps
from sluice.runtime.fn_request import FnRequest

LAUNCHERS = Path(__file__).parent / "launchers"
FDK_PYTHON = LAUNCHERS / "fdk_python.py"
#: where Fn's images keep the function's files
_CONTAINER_DIRS = ("/function/", "/home/app/")
_PYTHONS = ("python", "python3")
_FDKS = ("/python/bin/fdk", "fdk")


class CommandError(Exception):
    """The function's command cannot be run here; the message says why."""


@dataclass(frozen=True)
class Interpreters:
    node: str | None
    python: str = sys.executable
    #: directories offered to every function (the openwhisk client libraries)
    node_path: tuple[str, ...] = ()
    python_path: tuple[str, ...] = ()


def _local(arg: str, home: Path) -> str:
    for prefix in _CONTAINER_DIRS:
        if arg.startswith(prefix):
            return str(home / arg[len(prefix) :])
    if arg.startswith("./"):
        return str(home / arg[2:])
    return arg


def argv(command: str, home: Path, tools: Interpreters) -> list[str]:
    """The command line for `command` run in `home`, which holds the function's files."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CommandError(f"the command '{command}' cannot be parsed: {exc}") from None
    if not words:
        raise CommandError("the function has no command (func.yaml cmd or entrypoint)")
    head, rest = words[0], [_local(w, home) for w in words[1:]]
    name = os.path.basename(head)
    if head in _FDKS:
        return [tools.python, "-S", "-u", str(FDK_PYTHON), *rest]
    if name in _PYTHONS or (name.startswith("python3.") and "/" not in head):
        return [tools.python, "-S", "-u", *rest]
    if name in ("node", "nodejs"):
        if tools.node is None:
            raise CommandError("node is not installed on this machine")
        return [tools.node, *rest]
    if head.startswith(("./", *_CONTAINER_DIRS)):
        return [_local(head, home), *rest]
    if "/" not in head and (home / head).is_file():
        return [str(home / head), *rest]
    return [head, *rest]


def search_paths(home: Path, deps: Deps, tools: Interpreters) -> dict[str, str]:
    """PYTHONPATH and NODE_PATH: the function's files, its environments, the platform's."""
    python_path = [str(home)]
    if deps.python is not None:
        python_path.append(str(deps.python))
    env = {"PYTHONPATH": os.pathsep.join([*python_path, *tools.python_path])}
    node_path = [str(deps.node)] if deps.node is not None else []
    node_path += list(tools.node_path)
    if node_path:
        env["NODE_PATH"] = os.pathsep.join(node_path)
    return env


def environment(
    init_env: Mapping[str, str],
    call_env: Mapping[str, str],
    request: FnRequest,
    home: Path,
    deps: Deps,
    tools: Interpreters,
) -> dict[str, str]:
    """Config and `FN_*` variables, the call's own, and the module search paths."""
    env = {**init_env, **call_env}
    env.update(
        FN_CALL_ID=request.call_id,
        FN_METHOD=request.method,
        FN_REQUEST_URL=request.url,
        FN_DEADLINE=request.deadline,
    )
    for name, value in request.headers.items():
        env["FN_HEADER_" + name.upper().replace("-", "_")] = value
    env.update(search_paths(home, deps, tools))
    return env
