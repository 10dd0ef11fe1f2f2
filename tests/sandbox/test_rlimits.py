from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.sandbox.rlimits import DEFAULT_PATH, RlimitSandbox


def test_environment_is_minimal_plus_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICE_SECRET", "x")
    spec = RlimitSandbox().launch(["true"], {"A": "1", "LANG": "en_US.UTF-8"}, tmp_path)
    assert dict(spec.env) == {
        "PATH": DEFAULT_PATH,
        "LANG": "en_US.UTF-8",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "A": "1",
    }
    assert spec.argv == ("true",)
    assert spec.cwd == tmp_path
    assert spec.start_new_session


def test_launched_process_gets_limits_and_session(tmp_path: Path) -> None:
    sandbox = RlimitSandbox(limits={resource.RLIMIT_CORE: (0, 0), resource.RLIMIT_NOFILE: (64, 64)})
    script = (
        "import os, resource, json; print(json.dumps(["
        "resource.getrlimit(resource.RLIMIT_CORE), resource.getrlimit(resource.RLIMIT_NOFILE),"
        "os.getsid(0) == os.getpid(), sorted(os.environ)]))"
    )
    spec = sandbox.launch([sys.executable, "-S", "-c", script], {}, tmp_path)
    out = subprocess.run(
        spec.argv,
        env=dict(spec.env),
        cwd=spec.cwd,
        start_new_session=spec.start_new_session,
        preexec_fn=spec.preexec_fn,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    core, nofile, leader, names = json.loads(out)
    assert core == [0, 0]
    assert nofile == [64, 64]
    assert leader
    assert names == ["HOME", "LANG", "PATH", "TMPDIR"]


def test_no_limits_means_no_preexec(tmp_path: Path) -> None:
    assert RlimitSandbox(limits={}).launch(["true"], {}, tmp_path).preexec_fn is None


def test_default_limits_are_inherited_not_set_per_launch(tmp_path: Path) -> None:
    # the platform's process takes the core limit itself: a launch needs no preexec_fn (which
    # makes subprocess fork the whole server instead of a vfork)
    spec = RlimitSandbox().launch(["true"], {}, tmp_path)
    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
    assert spec.preexec_fn is None
