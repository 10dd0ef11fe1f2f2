"""What a function's process sees: its environment, directory, channel and stdin."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sluice.runtime.base import Outcome, RunResult
from tests.runtime.helpers import action, open_runtime, request, run

ENV_JS = """
exports.main = () => ({
  env: process.env,
  cwd: process.cwd(),
});
"""
ENV_PY = """
import os
def main(a):
    return {"env": dict(os.environ), "cwd": os.getcwd()}
"""


def env_of(tmp_path: Path, kind: str, code: str, **config: object) -> list[RunResult]:
    async def scenario() -> list[RunResult]:
        async with open_runtime(tmp_path / "work", **config) as runtime:
            code_ = action(code, kind, env={"INIT_PARAM": "from-init"})
            first = await runtime.run(request(code_, env={"__OW_ACTIVATION_ID": "a" * 32}))
            second = await runtime.run(request(code_, env={"__OW_ACTIVATION_ID": "b" * 32}))
            return [first, second]

    return run(scenario())


@pytest.mark.parametrize(("kind", "code"), [("nodejs:20", ENV_JS), ("python:3.11", ENV_PY)])
def test_clean_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, code: str
) -> None:
    monkeypatch.setenv("SLUICE_SECRET", "do-not-leak")
    libs = str(tmp_path / "libs")
    first, second = env_of(tmp_path, kind, code, node_path=(libs,), python_path=(libs,))
    assert first.outcome is Outcome.SUCCESS
    assert isinstance(first.result, dict)
    assert isinstance(second.result, dict)
    env = first.result["env"]
    assert "SLUICE_SECRET" not in env
    home = Path(env["HOME"])
    assert home.parent == tmp_path / "work"
    assert env["TMPDIR"] == str(home)
    assert first.result["cwd"] == str(home)
    assert env["LANG"] == "C.UTF-8"
    assert env["INIT_PARAM"] == "from-init"
    assert env["__OW_ACTIVATION_ID"] == "a" * 32
    assert second.result["env"]["__OW_ACTIVATION_ID"] == "b" * 32
    search = "NODE_PATH" if kind.startswith("nodejs") else "PYTHONPATH"
    assert env[search] == libs
    expected = {"PATH", "LANG", "HOME", "TMPDIR", "INIT_PARAM", search}
    expected |= {"__OW_ACTIVATION_ID", "__OW_NAMESPACE", "__OW_ACTION_NAME"}
    assert set(env) == expected


def test_call_env_of_a_previous_call_does_not_stay(tmp_path: Path) -> None:
    code = "exports.main = () => ({key: process.env.__OW_API_KEY || null});"

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code_ = action(code)
            with_key = await runtime.run(request(code_, env={"__OW_API_KEY": "k"}))
            assert with_key.result == {"key": "k"}
            without = await runtime.run(request(code_))
            assert without.result == {"key": None}
            assert without.init_ms is None

    run(scenario())


def test_stdin_is_empty_and_params_arrive_as_given(tmp_path: Path) -> None:
    code = """
import sys
def main(a):
    return {"stdin": sys.stdin.read(), "params": a}
"""
    params = {"nested": {"list": [1, 2.5, None, True]}, "text": "caf\u00e9 \u2713"}

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action(code, "python:3.11"), params))

    assert run(scenario()).result == {"stdin": "", "params": params}


def test_printing_to_stdout_does_not_disturb_the_channel(tmp_path: Path) -> None:
    code = """
    exports.main = () => {
      console.log('{"result": {"forged": true}}');
      process.stdout.write('{"ok":true}\\n');
      return {real: true};
    };
    """

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action(code)))

    result = run(scenario())
    assert result.result == {"real": True}
    assert len(result.logs) == 2


def test_unknown_kind_is_a_platform_error(tmp_path: Path) -> None:
    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action("x", "cobol:85")))

    result = run(scenario())
    assert result.outcome is Outcome.PLATFORM_ERROR
    assert result.result == {"error": "The action kind 'cobol:85' is not installed on this server."}


def test_no_core_limit_and_own_session(tmp_path: Path) -> None:
    code = """
import os, resource
def main(a):
    return {
        "core": list(resource.getrlimit(resource.RLIMIT_CORE)),
        "leader": os.getsid(0) == os.getpid() and os.getpgid(0) == os.getpid(),
    }
"""

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action(code, "python:3.11")))

    assert run(scenario()).result == {"core": [0, 0], "leader": True}


def test_large_params_and_results_cross_the_channel(tmp_path: Path) -> None:
    big = "x" * (5 << 20)
    code_js = "exports.main = (p) => ({n: p.big.length, back: p.big});"
    code_py = "def main(p):\n    return {'n': len(p['big']), 'back': p['big']}\n"

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            for code_ in (action(code_js), action(code_py, "python:3.11")):
                result = await runtime.run(request(code_, {"big": big}, result_limit_bytes=6 << 20))
                assert result.outcome is Outcome.SUCCESS
                assert result.result == {"n": len(big), "back": big}

    run(scenario())


def test_parameters_that_are_not_json_are_a_platform_error(tmp_path: Path) -> None:
    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action("exports.main = () => ({});"), {"x": object()}))

    result = run(scenario())
    assert result.outcome is Outcome.PLATFORM_ERROR


def test_start_removes_directories_of_dead_servers(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    work = tmp_path / "work"
    stale = work / f"proc-{dead.pid}-abc"
    mine = work / f"proc-{os.getpid()}-def"
    for path in (stale, mine):
        (path / "action").mkdir(parents=True)

    async def scenario() -> None:
        async with open_runtime(work):
            pass

    run(scenario())
    assert not stale.exists()
    assert mine.exists()
