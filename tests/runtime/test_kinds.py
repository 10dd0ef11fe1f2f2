from __future__ import annotations

import sys
from pathlib import Path

from sluice.runtime.config import RuntimeConfig
from sluice.runtime.kinds import (
    NODE_RUNNER,
    PYTHON_RUNNER,
    Family,
    Kinds,
    available_kinds,
    path_env,
    python_runner_script,
    runner_argv,
)
from sluice.runtime.pool import ProcessRuntime


def test_aliases_resolve_to_concrete_kinds() -> None:
    kinds = Kinds()
    for name in ("nodejs:20", "nodejs:default", "nodejs"):
        found = kinds.resolve(name)
        assert found is not None
        assert found.name == "nodejs:20"
    for name in ("python:3.11", "python:3", "python:default", "python"):
        found = kinds.resolve(name)
        assert found is not None
        assert found.name == "python:3.11"
    blackbox = kinds.resolve("blackbox")
    assert blackbox is not None
    assert not blackbox.warm
    assert kinds.resolve("nodejs:18") is None
    assert kinds.resolve("java:default") is None
    assert kinds.names() == [
        "nodejs:20",
        "python:3.11",
        "blackbox",
        "fn:default",
        "fn:http-stream",
        "fn:json",
        "process",
        "http",
    ]


def test_node_kinds_need_node() -> None:
    fn = ["fn:default", "fn:http-stream", "fn:json", "process", "http"]
    assert available_kinds(None).names() == ["python:3.11", "blackbox", *fn]
    assert available_kinds("/usr/bin/node").names() == ["nodejs:20", "python:3.11", "blackbox", *fn]


def test_runtime_resolves_kinds(tmp_path: Path) -> None:
    runtime = ProcessRuntime(RuntimeConfig(work_dir=tmp_path))
    assert runtime.resolve_kind("nodejs:default") == "nodejs:20"
    assert runtime.resolve_kind("python") == "python:3.11"
    assert runtime.resolve_kind("nope") is None
    assert "blackbox" in runtime.kinds()


def test_runner_command_lines() -> None:
    kinds = Kinds()
    node = kinds.resolve("nodejs")
    python = kinds.resolve("python")
    assert node is not None
    assert python is not None
    assert node.family is Family.NODEJS
    assert runner_argv(node, "/usr/bin/node", 128, 7) == [
        "/usr/bin/node",
        "--max-old-space-size=128",
        str(NODE_RUNNER),
        "7",
    ]
    assert runner_argv(python, None, 128, 7) == [
        sys.executable,
        "-S",
        "-u",
        str(python_runner_script()),
        "7",
    ]
    assert NODE_RUNNER.is_file()
    assert PYTHON_RUNNER.is_file()
    # compiled next to its source (a writable checkout), the bytecode of that source
    assert python_runner_script().parent == PYTHON_RUNNER.parent / "__pycache__"
    assert python_runner_script().stat().st_mtime >= PYTHON_RUNNER.stat().st_mtime
    assert path_env(node, ("/a", "/b"), ()) == {"NODE_PATH": "/a:/b"}
    assert path_env(python, (), ("/p",)) == {"PYTHONPATH": "/p"}
    assert path_env(python, ("/a",), ()) == {}
