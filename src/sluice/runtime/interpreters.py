"""Which interpreter serves each versioned kind (`nodejs:22`, `python:3.12`, `go:1.19`,
`ruby:3.1`...): one named in SLUICE_RUNTIMES, else one found on PATH. Each is run once to read
its real version; one whose version is not the kind's is refused, with the reason, never used
in its place."""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sluice.config_lists import GO, NODEJS, PYTHON, parse_runtimes

log = logging.getLogger("sluice.runtime")

#: versions looked for on PATH by their own names (node22, python3.12); any other version is
#: served when a plain `node` / `python3` / `go` is that version, or when configured
SEARCHED = {
    NODEJS: ("16", "18", "20", "22", "24"),
    PYTHON: ("3.9", "3.10", "3.11", "3.12", "3.13"),
}
#: generic names whose version decides which kind of their family they serve
GENERIC = {NODEJS: ("node", "nodejs"), PYTHON: ("python3",), GO: ("go",)}
_VERSION = re.compile(r"\d+(?:\.\d+)*")
PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class Interpreter:
    """The program that runs one kind's code, and what it said its version is."""

    kind: str
    #: the executable, links resolved (it is what runs, and what the sandbox shows)
    path: str
    version: str
    #: how it was found, for messages: "SLUICE_RUNTIMES", "on PATH"
    source: str
    #: a configured actionloop runner the interpreter runs (the kind's code is its input)
    runner: str | None = None

    @property
    def family(self) -> str:
        return self.kind.partition(":")[0]

    def shown(self) -> list[Path]:
        """What a process of this kind must see read-only: the interpreter's installation
        (its prefix, when it is a bin/ beside a lib/) or else the file alone, and the runner."""
        binary = Path(self.path)
        prefix = binary.parent.parent
        home = Path.home()
        if (
            binary.parent.name == "bin"
            and (prefix / "lib").is_dir()
            and prefix
            not in (
                Path("/"),
                home,
            )
        ):
            paths = [prefix]
        else:
            paths = [binary]
        if self.runner is not None:
            paths.append(Path(self.runner))
        return paths


@dataclass(frozen=True)
class Refused:
    kind: str
    reason: str


@dataclass(frozen=True)
class Found:
    served: tuple[Interpreter, ...]
    refused: tuple[Refused, ...]


def version_argv(family: str, path: str) -> list[str]:
    """How an interpreter of `family` tells its version."""
    return [path, "version"] if family == GO else [path, "--version"]


@cache
def probe(argv: tuple[str, ...]) -> str:
    """The version `argv` prints; raises OSError with the reason when it does not run."""
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=PROBE_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise OSError(f"`{shlex.join(argv)}` did not answer in {PROBE_SECONDS:g} s") from None
    said = (done.stdout + done.stderr).strip()
    first = said.splitlines()[0] if said else ""
    if done.returncode != 0:
        raise OSError(f"`{shlex.join(argv)}` exited {done.returncode}: {first[:200]}")
    found = _VERSION.search(first)
    if found is None:
        raise OSError(f"`{shlex.join(argv)}` printed no version: {first[:200]!r}")
    return found.group(0)


def matches(kind: str, version: str) -> bool:
    """Whether `version` (as the interpreter reports it) is kind's: 22.9.0 is nodejs:22's,
    3.12.1 python:3.12's, 3.11.7 is not python:3.12's."""
    wanted = kind.partition(":")[2].split(".")
    return version.split(".")[: len(wanted)] == wanted


def kind_of(family: str, version: str) -> str:
    """The kind a generic interpreter of `version` serves: Node.js by major, others by
    major.minor."""
    parts = version.split(".")
    return f"{family}:{parts[0]}" if family == NODEJS else f"{family}:{'.'.join(parts[:2])}"


def _resolve(command: str) -> str | None:
    """The executable `command` names (a path, or a name on PATH), links resolved."""
    found = command if os.sep in command else shutil.which(command)
    if found is None or not os.access(found, os.X_OK) or os.path.isdir(found):
        return None
    return os.path.realpath(found)


def _try(
    kind: str, command: str, source: str, runner: str | None, exact: bool
) -> Interpreter | Refused:
    path = _resolve(command)
    if path is None:
        return Refused(kind, f"{command} ({source}) is not an executable file")
    if runner is not None and not os.path.isfile(runner):
        return Refused(kind, f"its runner {runner} ({source}) is not a file")
    family = kind.partition(":")[0]
    try:
        version = probe(tuple(version_argv(family, path)))
    except OSError as exc:
        return Refused(kind, f"{command} ({source}) does not run: {exc}")
    if exact and not matches(kind, version):
        return Refused(kind, f"{command} ({source}) is version {version}, not {kind}")
    return Interpreter(
        kind if exact else kind_of(family, version),
        path,
        version,
        source,
        os.path.realpath(runner) if runner is not None else None,
    )


def discover(configured: str = "") -> Found:
    """Every versioned kind this machine can run, and why each named one it cannot."""
    return _discover(configured, os.environ.get("PATH", ""))


@cache
def _discover(configured: str, search_path: str) -> Found:
    entries = parse_runtimes(configured)
    # (kind, command, source, runner, exact): configured ones first, then PATH's own names,
    # then the generic interpreters, which serve whatever version they are
    tries: list[tuple[str, str, str, str | None, bool]] = [
        (kind, command, "SLUICE_RUNTIMES", runner, True)
        for kind, (command, runner) in entries.items()
    ]
    # the server's own Python serves its version: its runner is compiled once (kinds.py)
    tries.append((PYTHON, sys.executable, "the server's own Python", None, False))
    for family, versions in SEARCHED.items():
        for version in versions:
            kind = f"{family}:{version}"
            name = f"{'node' if family == NODEJS else 'python'}{version}"
            if kind not in entries and shutil.which(name, path=search_path):
                tries.append((kind, name, "on PATH", None, True))
    for family, names in GENERIC.items():
        for name in names:
            if shutil.which(name, path=search_path):
                tries.append((family, name, "on PATH", None, False))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: _try(*t), tries))
    return _settle(results)


def _settle(results: Iterable[Interpreter | Refused]) -> Found:
    """The first interpreter found for each kind serves it; a refusal stays only for kinds
    nothing serves."""
    served: dict[str, Interpreter] = {}
    refused: list[Refused] = []
    for result in results:
        if isinstance(result, Refused):
            refused.append(result)
        elif result.kind not in served:
            served[result.kind] = result
    return Found(
        tuple(served.values()),
        tuple(r for r in refused if r.kind not in served and r.kind.partition(":")[2]),
    )


def report(found: Found) -> None:
    """Say in the log what serves each kind, and why a named interpreter was refused."""
    for interpreter in found.served:
        log.info(
            "kind %s: %s %s (%s)",
            interpreter.kind,
            interpreter.path,
            interpreter.version,
            interpreter.source,
        )
    for refusal in found.refused:
        level = logging.WARNING if "SLUICE_RUNTIMES" in refusal.reason else logging.INFO
        log.log(level, "kind %s refused: %s", refusal.kind, refusal.reason)


def newest(versions: Sequence[str]) -> str:
    """The highest of kind versions such as 20, 22 or 3.9, 3.12 (compared as numbers)."""
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
