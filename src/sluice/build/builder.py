"""What deploying code means for its build: unpack, compile (Go), attach dependency
environments (requirements.txt, package.json), and give back the code to store: the
uploaded files plus the binary and a manifest naming the environments."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sluice.build.cache import BuildCache
from sluice.build.errors import BuildFailed
from sluice.build.gomod import binary_name
from sluice.build.step import Step
from sluice.build.templates import merged_package_json
from sluice.build.toolchains import GO, GO_BINARY, Made, Toolchains
from sluice.runtime.archive import ArchiveError, unpack
from sluice.runtime.bundle import MANIFEST, NODE, PYTHON, manifest_bytes
from sluice.runtime.interpreters import Interpreter
from sluice.sandbox.base import Sandbox

#: the largest unpacked source a build accepts
MAX_SOURCE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Built:
    code: str
    steps: list[Made] = field(default_factory=list)

    @property
    def cached(self) -> bool:
        """Nothing had to be built: every step's output was there already."""
        return bool(self.steps) and all(step.cached for step in self.steps)

    def report(self) -> dict[str, Any]:
        return {
            "cached": self.cached,
            "steps": [{"name": s.name, "key": s.key, "cached": s.cached} for s in self.steps],
        }


_OWN_PYTHON = os.path.realpath(sys.executable)
#: a kind -> the interpreter its code runs on (None: the server's own)
InterpreterOf = Callable[[str], Interpreter | None]


class Builder:
    def __init__(
        self,
        sandbox: Sandbox,
        builds_dir: Path,
        work_dir: Path,
        timeout_seconds: float,
        interpreter_of: InterpreterOf | None = None,
        go_proxy: str = "off",
    ) -> None:
        self.work_dir = work_dir
        #: a python kind's requirements are installed by that kind's own Python
        self.interpreter_of = interpreter_of or (lambda kind: None)
        self.toolchains = Toolchains(
            Step(sandbox, work_dir, timeout_seconds), BuildCache(builds_dir), go_proxy
        )

    async def build(
        self, family: str, code: str, namespace: str, python: Interpreter | None = None
    ) -> Built:
        """Build base64 zip `code` of a `family` function (go, python or node) of
        `namespace`, into that namespace's builds."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        source = Path(await asyncio.to_thread(tempfile.mkdtemp, "-src", "build-", self.work_dir))
        try:
            try:
                await asyncio.to_thread(unpack, code, source, MAX_SOURCE_BYTES)
            except ArchiveError as exc:
                raise BuildFailed(str(exc)) from None
            return await self._build(family, code, source, namespace, python)
        finally:
            await asyncio.to_thread(shutil.rmtree, source, True)

    async def for_action(self, kind: str, code: str, namespace: str) -> str:
        """A zip action's code with the environment its requirements.txt (python kinds) or
        package.json (nodejs kinds) asks for attached; unchanged when it asks for none or
        bundles its own (`virtualenv/`, `node_modules/`, as OpenWhisk's zips may)."""
        if kind in COMMAND_KINDS:
            return await self._for_command(code, namespace)
        family = _ACTION_FAMILIES.get(kind.partition(":")[0])
        if family is None:
            return code
        wanted, bundled = _DEPENDENCY_FILES[family]
        names = await asyncio.to_thread(_top_names, code)
        if wanted not in names or bundled in names:
            return code
        python = self.interpreter_of(kind) if family == PYTHON else None
        if python is not None and python.path == _OWN_PYTHON:
            python = None  # the server's own: its pip, and the builds it has already
        return (await self.build(family, code, namespace, python)).code

    async def _for_command(self, code: str, namespace: str) -> str:
        """A command's zip (kinds process and http: an OpenFaaS template's files) with the
        environments of its requirements.txt files (the template's own and its
        function/'s, installed together as its Dockerfile installs both) and of its
        package.json files (likewise) attached, and its go.mod's module built into the
        binary `go build` names (golang-http's `handler`)."""
        names = await asyncio.to_thread(_top_names, code)
        if not names & {"requirements.txt", "package.json", "function", "go.mod"}:
            return code
        self.work_dir.mkdir(parents=True, exist_ok=True)
        source = Path(await asyncio.to_thread(tempfile.mkdtemp, "-src", "build-", self.work_dir))
        try:
            try:
                await asyncio.to_thread(unpack, code, source, MAX_SOURCE_BYTES)
            except ArchiveError as exc:
                raise BuildFailed(str(exc)) from None
            steps: list[Made] = []
            wanted = [source / "requirements.txt", source / "function" / "requirements.txt"]
            texts = [p.read_text() for p in wanted if p.is_file() and "virtualenv" not in names]
            if any(text.strip() for text in texts):
                merged = source / ".requirements.txt"
                merged.write_text("\n".join(texts))
                steps.append(await self.toolchains.python_env(namespace, merged))
            package_json = await asyncio.to_thread(merged_package_json, source)
            if package_json is not None and "node_modules" not in names:
                steps.append(await self.toolchains.node_env(namespace, package_json))
            extra: dict[str, tuple[bytes, int]] = {}
            if (source / "go.mod").is_file():
                binary = await asyncio.to_thread(binary_name, source / "go.mod")
                made = await self.toolchains.go_binary(namespace, source, binary)
                steps.append(made)
                extra[binary] = (await asyncio.to_thread((made.path / binary).read_bytes), 0o755)
            hashes = {s.family: s.key for s in steps if s.family in (PYTHON, NODE)}
            if hashes:
                extra[MANIFEST] = (manifest_bytes(hashes), 0o644)
            if not extra:
                return code
            return await asyncio.to_thread(_rezip, code, extra)
        finally:
            await asyncio.to_thread(shutil.rmtree, source, True)

    async def for_deploy(
        self, family: str, code: str, namespace: str
    ) -> tuple[str, dict[str, Any]]:
        """The code to store and a report of the build (what `Apps` takes as its build)."""
        built = await self.build(family, code, namespace)
        return built.code, built.report()

    async def _build(
        self, family: str, code: str, source: Path, namespace: str, python: Interpreter | None
    ) -> Built:
        steps: list[Made] = []
        extra: dict[str, tuple[bytes, int]] = {}
        if family == GO:
            made = await self.toolchains.go_binary(namespace, source)
            steps.append(made)
            binary = await asyncio.to_thread((made.path / GO_BINARY).read_bytes)
            extra[GO_BINARY] = (binary, 0o755)
        if family == PYTHON and (source / "requirements.txt").is_file():
            requirements = source / "requirements.txt"
            steps.append(await self.toolchains.python_env(namespace, requirements, python))
        if family == NODE and (source / "package.json").is_file():
            steps.append(await self.toolchains.node_env(namespace, source / "package.json"))
        hashes = {s.family: s.key for s in steps if s.family in (PYTHON, NODE)}
        if hashes:
            extra[MANIFEST] = (manifest_bytes(hashes), 0o644)
        if not extra:
            return Built(code)
        return Built(await asyncio.to_thread(_rezip, code, extra), steps)


#: an action kind's family -> the build family that installs its dependencies
_ACTION_FAMILIES = {"python": PYTHON, "nodejs": NODE}
#: kinds whose code is a command beside its files (OpenFaaS's watchdogs)
COMMAND_KINDS = ("process", "http")
#: build family -> (the file asking for dependencies, the directory bundling them already)
_DEPENDENCY_FILES = {
    PYTHON: ("requirements.txt", "virtualenv"),
    NODE: ("package.json", "node_modules"),
}


def _top_names(code: str) -> set[str]:
    """The names at the top of base64 zip `code` (files and directories); none when it is
    not a readable zip (running it says why)."""
    try:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(code))) as archive:
            return {name.split("/", 1)[0] for name in archive.namelist()}
    except (binascii.Error, ValueError, zipfile.BadZipFile):
        return set()


def _rezip(code: str, extra: dict[str, tuple[bytes, int]]) -> str:
    """`code`'s files, with `extra` files added (replacing any of the same name)."""
    try:
        data = base64.b64decode(code)
    except (binascii.Error, ValueError) as exc:
        raise BuildFailed(f"the code is not valid base64: {exc}") from None
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as old,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            if info.filename not in extra:
                new.writestr(info, old.read(info))
        for name, (content, mode) in extra.items():
            entry = zipfile.ZipInfo(name)
            entry.external_attr = (0o100000 | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            new.writestr(entry, content)
    return base64.b64encode(buffer.getvalue()).decode()
