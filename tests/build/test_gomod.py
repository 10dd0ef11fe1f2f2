"""What a build reads from a go.mod, on real files: the binary's name as `go build` gives
it, and the local modules below the main one folded in as `replace`s that `go build`
itself then resolves."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sluice.build.gomod import binary_name, fold_local_modules, module_path


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("module handler\n\ngo 1.19\n", "handler"),
        ('module "example.com/tools/greeter"\n', "greeter"),
        ("module example.com/greeter/v2\n", "greeter"),
        ("go 1.19\n", "func"),
    ],
)
def test_the_binary_is_named_as_go_build_names_it(tmp_path: Path, text: str, name: str) -> None:
    (tmp_path / "go.mod").write_text(text)
    assert binary_name(tmp_path / "go.mod") == name


def test_module_path_reads_the_module_line() -> None:
    assert module_path("// a comment\nmodule handler/function\n") == "handler/function"
    assert module_path("go 1.19\n") is None


def test_a_nested_module_is_folded_in_once(tmp_path: Path) -> None:
    (tmp_path / "function" / "lib").mkdir(parents=True)
    (tmp_path / ".gopath" / "x").mkdir(parents=True)
    (tmp_path / "go.mod").write_text("module handler\n\ngo 1.19\n")
    (tmp_path / "function" / "go.mod").write_text("module handler/function\n\ngo 1.19\n")
    (tmp_path / ".gopath" / "x" / "go.mod").write_text("module cached/elsewhere\n")
    assert fold_local_modules(tmp_path) == ["handler/function"]
    text = (tmp_path / "go.mod").read_text()
    assert "replace handler/function => ./function" in text
    assert "cached/elsewhere" not in text
    assert fold_local_modules(tmp_path) == []  # it names it now
    assert (tmp_path / "go.mod").read_text() == text


@pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain is missing")
def test_go_builds_a_main_module_importing_its_nested_one(tmp_path: Path) -> None:
    (tmp_path / "function").mkdir()
    (tmp_path / "go.mod").write_text("module handler\n\ngo 1.19\n")
    main = 'package main\n\nimport "handler/function"\n\nfunc main() { println(function.Hi()) }\n'
    (tmp_path / "main.go").write_text(main)
    (tmp_path / "function" / "go.mod").write_text("module handler/function\n\ngo 1.19\n")
    inner = 'package function\n\nfunc Hi() string { return "hi from function" }\n'
    (tmp_path / "function" / "handler.go").write_text(inner)
    fold_local_modules(tmp_path)
    env = {
        **os.environ,
        "GOPROXY": "off",
        "GOFLAGS": "-mod=mod",
        "GOCACHE": str(tmp_path / ".gocache"),
        "GOPATH": str(tmp_path / ".gopath"),
    }
    built = subprocess.run(
        ["go", "run", "."], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    assert built.stderr.strip() == "hi from function"
