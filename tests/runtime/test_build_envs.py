"""What a function's process sees of the builds dir, inside the bubblewrap sandbox: the
dependency environments its own code's manifest names, in its owner's namespace, and nothing
else; a stem cell (launched before anyone's code) serves code without any; builds of the
old shared layout become the namespace's own when its code names them."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from sluice.runtime.base import ActionCode, Outcome
from sluice.runtime.bundle import MANIFEST, env_dir, legacy_env_dir, manifest_bytes, namespace_dir
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.pool import ProcessRuntime
from sluice.sandbox.bwrap import BwrapSandbox
from tests.runtime.helpers import action, request, run, wait_until, zip_b64
from tests.support.bwrap import BWRAP, needs_bwrap

pytestmark = needs_bwrap

DIGEST = "ab" * 32

#: imports the environment's module and reports what it can see of the builds dir
LOOK_PY = """
import os

def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__

def main(args):
    out = {}
    for name, path in args["paths"].items():
        out[name] = listing(path)
    try:
        import envmod
        out["envmod"] = envmod.WHERE
    except ImportError as exc:
        out["envmod"] = None
    return out
"""


def make_env(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "envmod.py").write_text("WHERE = __file__\n")
    return root


def zip_with_manifest(source: str = LOOK_PY) -> str:
    manifest = manifest_bytes({"python": DIGEST}).decode()
    return zip_b64({"__main__.py": source, MANIFEST: manifest})


def open_runtime(data: Path, stem_cells: int = 0) -> ProcessRuntime:
    assert BWRAP is not None
    config = RuntimeConfig(
        work_dir=data / "work", builds_dir=data / "builds", stem_cells=stem_cells
    )
    return ProcessRuntime(config, BwrapSandbox(BWRAP, hidden=[data]))


async def call(runtime: ProcessRuntime, code: ActionCode, **params: Any) -> dict[str, Any]:
    result = await runtime.run(request(code, params))
    assert result.outcome is Outcome.SUCCESS, result
    assert isinstance(result.result, dict)
    return result.result


def test_a_process_sees_its_own_environments_and_no_other_build(tmp_path: Path) -> None:
    data = tmp_path / "data"
    builds = data / "builds"
    own = make_env(env_dir(builds, "alice", "python", DIGEST))
    other = make_env(env_dir(builds, "alice", "python", "cd" * 32))
    theirs = make_env(env_dir(builds, "bob", "python", DIGEST))
    binary = env_dir(builds, "bob", "go", "ef" * 32)
    binary.mkdir(parents=True)
    (binary / "func").write_bytes(b"\x7fELF compiled")
    paths = {
        "root": str(builds),
        "namespace": str(namespace_dir(builds, "alice")),
        "family": str(own.parent),
        "own": str(own),
        "other": str(other),
        "theirs": str(theirs),
        "binary": str(binary),
    }

    async def scenario() -> None:
        runtime = open_runtime(data)
        await runtime.start()
        try:
            code = action(zip_with_manifest(), "python:3", binary=True, namespace="alice")
            seen = await call(runtime, code, paths=paths)
            assert seen["envmod"] == str(own / "envmod.py")
            assert seen["own"] == ["envmod.py"]
            # only the way down to its own environment exists: no other build of anyone
            assert seen["root"] == [namespace_dir(builds, "alice").name]
            assert seen["namespace"] == ["python"]
            assert seen["family"] == [DIGEST]
            assert seen["other"] == seen["theirs"] == seen["binary"] == "FileNotFoundError"
            # the same code called by bob (a shared package's action) imports alice's
            # environment, in a process of bob's
            called = await call(runtime, dataclasses.replace(code, namespace="bob"), paths=paths)
            assert called["envmod"] == str(own / "envmod.py")
            assert called["theirs"] == "FileNotFoundError"
        finally:
            await runtime.close()

    run(scenario())


def test_a_hand_made_manifest_names_environments_of_its_own_namespace_only(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    make_env(env_dir(data / "builds", "alice", "python", DIGEST))
    paths = {"root": str(data / "builds")}

    async def scenario() -> None:
        runtime = open_runtime(data)
        await runtime.start()
        try:
            # bob's zip names alice's environment by its hash: nothing of it is found
            forged = action(zip_with_manifest(), "python:3", binary=True, namespace="bob")
            seen = await call(runtime, forged, paths=paths)
            assert seen["envmod"] is None
            assert seen["root"] == "FileNotFoundError"
        finally:
            await runtime.close()

    run(scenario())


def test_stem_cells_serve_code_without_environments_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_env(env_dir(data / "builds", "alice", "python", DIGEST))

    async def scenario() -> None:
        runtime = open_runtime(data, stem_cells=1)
        await runtime.start()
        try:
            stems = runtime.pool.snapshot
            waiting = await wait_until(lambda: stems().stems.get("python:3.11"), "a stem cell")
            code = action(zip_with_manifest(), "python:3", binary=True, namespace="alice")
            seen = await call(runtime, code, paths={})
            assert seen["envmod"] is not None
            # it got a process launched seeing its environment; the stem cell still waits
            assert stems().stems.get("python:3.11") == waiting
            plain = action(LOOK_PY, "python:3", namespace="alice")
            assert (await call(runtime, plain, paths={}))["envmod"] is None
            await wait_until(
                lambda: waiting[0] not in stems().stems.get("python:3.11", []),
                "the stem cell to be taken by code without environments",
            )
        finally:
            await runtime.close()

    run(scenario())


def test_an_old_layout_environment_becomes_the_namespace_s_own(tmp_path: Path) -> None:
    data = tmp_path / "data"
    legacy = make_env(legacy_env_dir(data / "builds", "python", DIGEST))

    async def scenario() -> None:
        runtime = open_runtime(data)
        await runtime.start()
        try:
            code = action(zip_with_manifest(), "python:3", binary=True, namespace="alice")
            seen = await call(runtime, code, paths={"legacy": str(legacy)})
            adopted = env_dir(data / "builds", "alice", "python", DIGEST)
            assert seen["envmod"] == str(adopted / "envmod.py")
            assert seen["legacy"] == "FileNotFoundError"
            # hard links: no second copy of the files, and the old one stays for others
            assert (adopted / "envmod.py").stat().st_ino == (legacy / "envmod.py").stat().st_ino
            assert [p.name for p in adopted.parent.iterdir()] == [DIGEST]
        finally:
            await runtime.close()

    run(scenario())
    assert os.listdir(legacy) == ["envmod.py"]
