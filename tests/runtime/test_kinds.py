from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from sluice.config import Settings
from sluice.config_lists import BadRuntimes, parse_runtimes
from sluice.kinds import Family
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.interpreters import Found, Interpreter, Refused, discover, kind_of, matches
from sluice.runtime.kinds import (
    ACTIONLOOP_RUNNER,
    NODE_RUNNER,
    PYTHON_RUNNER,
    Kind,
    Kinds,
    available_kinds,
    path_env,
    python_runner_script,
    runner_argv,
)
from sluice.runtime.pool import ProcessRuntime
from tests.support.interpreters import node_major


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


def test_kinds_follow_the_interpreters_found() -> None:
    fn = ["fn:default", "fn:http-stream", "fn:json", "process", "http"]
    assert available_kinds(Found((), ())).names() == ["blackbox", *fn]
    found = Found(
        (
            Interpreter("nodejs:20", "/usr/bin/node", "20.1.0", "on PATH"),
            Interpreter("nodejs:22", "/opt/node22/bin/node", "22.9.0", "SLUICE_RUNTIMES"),
            Interpreter("python:3.11", sys.executable, "3.11.7", "the server's own Python"),
            Interpreter("go:1.19", "/usr/bin/go", "1.19.8", "on PATH"),
        ),
        (Refused("python:3.12", "python3.12 (on PATH) does not run: exited 127"),),
    )
    kinds = available_kinds(found)
    assert kinds.names() == ["nodejs:20", "nodejs:22", "python:3.11", "go:1.19", "blackbox", *fn]
    # :default and the bare family name follow the newest installed
    for alias in ("nodejs:default", "nodejs"):
        assert kinds.resolve(alias) == kinds.resolve("nodejs:22")
    assert kinds.resolve("python:3") == kinds.resolve("python:3.11")
    families = kinds.by_family()
    assert [(e["kind"], e["default"]) for e in families["nodejs"]] == [
        ("nodejs:20", False),
        ("nodejs:22", True),
    ]
    go = kinds.resolve("go:default")
    assert go is not None
    assert go.family is Family.ACTIONLOOP
    assert go.has_action_process
    assert families["go"] == [
        {
            "kind": "go:1.19",
            "image": "sluice/go-v1.19",
            "deprecated": False,
            "default": True,
            "attached": False,
            "requireMain": False,
        }
    ]
    why = kinds.refusal("python:3.12")
    assert "python3.12 (on PATH) does not run: exited 127" in why
    assert "Installed kinds: nodejs:20, nodejs:22, python:3.11, go:1.19, blackbox" in why
    assert "SLUICE_RUNTIMES='python:3.12=/path/to/python3'" in why
    assert "SLUICE_RUNTIMES='ruby:VERSION=/path/to/ruby /path/to/runner'" in kinds.refusal(
        "ruby:default"
    )
    assert kinds.refusal("nonsense kind").startswith("The kind 'nonsense kind' is not supported.")


def test_versions_must_match_the_kind() -> None:
    assert matches("nodejs:22", "22.9.0")
    assert not matches("nodejs:22", "20.20.2")
    assert not matches("nodejs:2", "20.20.2")
    assert matches("python:3.12", "3.12.1")
    assert not matches("python:3.1", "3.12.1")
    assert kind_of("nodejs", "24.1.0") == "nodejs:24"
    assert kind_of("python", "3.13.0") == "python:3.13"


def test_runtimes_setting_is_parsed_or_refused() -> None:
    assert parse_runtimes("nodejs:22=/opt/node22/bin/node; ruby:3.1=/usr/bin/ruby /r/run.rb") == {
        "nodejs:22": ("/opt/node22/bin/node", None),
        "ruby:3.1": ("/usr/bin/ruby", "/r/run.rb"),
    }
    for bad in ("nodejs=/usr/bin/node", "nodejs:22", "ruby:3.1=/usr/bin/ruby", "x:1=a b c"):
        with pytest.raises(BadRuntimes):
            parse_runtimes(bad)
    with pytest.raises(ValidationError, match="not KIND=INTERPRETER"):
        Settings(runtimes="node22")


def test_a_wrong_version_on_the_machine_is_refused(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    found = discover(f"nodejs:99={node}")
    assert "nodejs:99" not in [i.kind for i in found.served]
    (refusal,) = [r for r in found.refused if r.kind == "nodejs:99"]
    assert refusal.reason.startswith(f"{node} (SLUICE_RUNTIMES) is version ")
    missing = discover(f"nodejs:98={tmp_path / 'nothing'}")
    assert any("is not an executable file" in r.reason for r in missing.refused)


def test_runtime_resolves_kinds(tmp_path: Path) -> None:
    runtime = ProcessRuntime(RuntimeConfig(work_dir=tmp_path))
    assert runtime.resolve_kind("nodejs:default") == f"nodejs:{node_major()}"
    assert runtime.resolve_kind("python") == f"python:{sys.version_info[0]}.{sys.version_info[1]}"
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


def test_actionloop_command_lines() -> None:
    go = Kind(
        "go:1.19",
        Family.ACTIONLOOP,
        interpreter=Interpreter("go:1.19", "/usr/lib/go/bin/go", "1.19.8", "on PATH"),
    )
    loop = [sys.executable, "-S", "-u", str(ACTIONLOOP_RUNNER), "7"]
    assert runner_argv(go, None, 128, 7) == [*loop, "--go", "/usr/lib/go/bin/go"]
    perl = Interpreter("perl:5", "/srv/perl/bin/perl", "5", "SLUICE_RUNTIMES", "/r/run.pl")
    kind = Kind("perl:5", Family.ACTIONLOOP, interpreter=perl)
    assert runner_argv(kind, None, 128, 7) == [*loop, "/srv/perl/bin/perl", "/r/run.pl"]
    # no lib/ beside its bin/: the executable alone is shown, and the runner
    assert perl.shown() == [Path("/srv/perl/bin/perl"), Path("/r/run.pl")]
    # an installation: all of it (its libraries)
    python = Interpreter("python:3.11", sys.executable, "3.11", "the server's own Python")
    if Path(sys.executable).parent.name == "bin" and Path(sys.base_prefix, "lib").is_dir():
        assert Path(sys.executable).parent.parent in python.shown()
    assert ACTIONLOOP_RUNNER.is_file()
