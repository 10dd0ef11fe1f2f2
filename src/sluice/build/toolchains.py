"""The three builds: a Go binary from the function's source, and the Python and Node.js
dependency environments its requirements.txt / package.json ask for. Each is keyed by the
namespace deploying it, the content hash of its inputs and the toolchain's version, and built
once per namespace."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sluice.build.cache import BuildCache, digest, tree_parts
from sluice.build.errors import BuildFailed
from sluice.build.gomod import fold_local_modules
from sluice.build.step import Step
from sluice.runtime.bundle import MANIFEST, NODE, PYTHON
from sluice.runtime.interpreters import Interpreter

GO = "go"
#: the name of the binary a Go function is built into (func.yaml's `./func`)
GO_BINARY = "func"
FUNC_YAML = "func.yaml"
_OUT = ".out"
Prepare = Callable[[Path], tuple[Sequence[str], Mapping[str, str]]]


@dataclass(frozen=True)
class Made:
    """One build's output directory and how it came to be."""

    name: str
    family: str
    key: str
    path: Path
    cached: bool
    log: str


def _version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


class Toolchains:
    def __init__(self, step: Step, cache: BuildCache, go_proxy: str = "off") -> None:
        self.step = step
        self.cache = cache
        #: Go's GOPROXY for module downloads (settings.goproxy)
        self.go_proxy = go_proxy
        self.go = shutil.which("go")
        self.npm = shutil.which("npm")
        self._versions: dict[str, str] = {}

    async def _version_of(self, argv: Sequence[str]) -> str:
        name = argv[0]
        if name not in self._versions:
            self._versions[name] = await asyncio.to_thread(_version, argv)
        return self._versions[name]

    async def _build(
        self,
        name: str,
        namespace: str,
        family: str,
        key: str,
        prepare: Prepare,
        visible: Sequence[Path] = (),
    ) -> Made:
        """`namespace`'s output for (family, key): from the cache, or built now by `prepare`'s
        command."""
        cache = self.cache
        async with cache.lock(namespace, family, key):
            if await asyncio.to_thread(cache.has, namespace, family, key):
                return Made(name, family, key, cache.path(namespace, family, key), True, "")

            async def collect(home: Path) -> Path:
                made = home / _OUT
                return await asyncio.to_thread(cache.install, made, namespace, family, key)

            path, log = await self.step.run(name, prepare, collect, visible)
            return Made(name, family, key, path, False, log)

    async def go_binary(self, namespace: str, source: Path, binary: str = GO_BINARY) -> Made:
        """`go build` of the function into `binary`: the modules its go.mod requires come
        from `go_proxy` (none when it is off), those in its own directories from there."""
        go = self.go
        if go is None:
            raise BuildFailed(
                "the Go toolchain is not installed on the server"
                " (Debian: apt-get install golang-go)"
            )
        version = await self._version_of([go, "env", "GOVERSION"])
        # func.yaml is not Go's input: the version `fn deploy` bumps in it is no reason to build
        skipped = (MANIFEST, GO_BINARY, FUNC_YAML, binary)
        parts = await asyncio.to_thread(tree_parts, source, skipped)
        named = [] if binary == GO_BINARY else [binary]  # the keys of `func` builds stay
        key = digest(GO, version, *named, *parts)
        proxy = self.go_proxy

        def prepare(home: Path) -> tuple[list[str], dict[str, str]]:
            shutil.copytree(source, home, dirs_exist_ok=True)
            (home / binary).unlink(missing_ok=True)
            if not (home / "go.mod").exists():
                language = ".".join(version.removeprefix("go").split(".")[:2]) or "1.19"
                (home / "go.mod").write_text(f"module func\n\ngo {language}\n")
            fold_local_modules(home)
            # go ignores a go.mod in the temporary directory itself: give it another one
            (home / ".tmp").mkdir()
            env = {
                "TMPDIR": str(home / ".tmp"),
                "CGO_ENABLED": "0",
                "GOPROXY": proxy,
                # go.sum is written as modules come (a template's go.sum, when it has one,
                # is checked); the module cache may be removed with the directory
                "GOFLAGS": "-mod=mod -modcacherw",
                "GOTOOLCHAIN": "local",
                "GOCACHE": str(home / ".gocache"),
                "GOPATH": str(home / ".gopath"),
            }
            return [go, "build", "-o", str(home / _OUT / binary), "."], env

        visible = [Path(p) for p in _file_proxies(proxy)]
        return await self._build("go build", namespace, GO, key, prepare, visible)

    async def python_env(
        self, namespace: str, requirements: Path, python: Interpreter | None = None
    ) -> Made:
        """`pip install -r requirements.txt` into an environment of its own, by the Python
        the code runs on (`python`, a python kind's; else the server's own)."""
        text = await asyncio.to_thread(requirements.read_bytes)
        executable = python.path if python is not None else sys.executable
        version = f"{python.path} {python.version}" if python is not None else sys.version
        key = digest(PYTHON, version, text)

        def prepare(home: Path) -> tuple[list[str], dict[str, str]]:
            (home / "requirements.txt").write_bytes(text)
            argv = [executable, "-m", "pip", "install", "--no-input", "--quiet"]
            argv += ["--disable-pip-version-check", "--target", str(home / _OUT)]
            return [*argv, "-r", "requirements.txt"], {"PYTHONNOUSERSITE": "1"}

        shown = python.shown() if python is not None else []
        return await self._build("pip install", namespace, PYTHON, key, prepare, shown)

    async def node_env(self, namespace: str, package_json: Path) -> Made:
        """`npm install` of package.json's dependencies (package-lock.json when there is
        one) into a node_modules of its own."""
        npm = self.npm
        if npm is None:
            raise BuildFailed("npm is not installed on the server")
        manifest = await asyncio.to_thread(package_json.read_bytes)
        lock_path = package_json.with_name("package-lock.json")
        lock = await asyncio.to_thread(lock_path.read_bytes) if lock_path.is_file() else b""
        version = await self._version_of([npm, "--version"])
        key = digest(NODE, version, manifest, lock)

        def prepare(home: Path) -> tuple[list[str], dict[str, str]]:
            out = home / _OUT
            out.mkdir()
            (out / "package.json").write_bytes(manifest)
            if lock:
                (out / "package-lock.json").write_bytes(lock)
            env = {}
            user_config = Path(os.path.expanduser("~/.npmrc"))
            if user_config.is_file():
                env["NPM_CONFIG_USERCONFIG"] = str(user_config)
            argv = [npm, "install", "--prefix", str(out), "--omit=dev", "--no-audit", "--no-fund"]
            return argv, env

        return await self._build("npm install", namespace, NODE, key, prepare)


def _file_proxies(proxy: str) -> list[str]:
    """The directories of GOPROXY's file:// entries, which the build must see."""
    entries = proxy.replace("|", ",").split(",")
    return [e.removeprefix("file://") for e in entries if e.startswith("file:///")]
