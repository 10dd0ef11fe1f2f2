"""Blackbox zips: `exec '<params json>'` per call, the last stdout line is the result."""

from __future__ import annotations

from pathlib import Path

from sluice.runtime.base import Outcome, RunResult
from tests.runtime.helpers import action, open_runtime, request, run, zip_b64

ECHO = """#!/bin/sh
echo "starting"
echo "to stderr" >&2
echo "{\\"params\\": $1, \\"id\\": \\"$__OW_ACTIVATION_ID\\", \\"init\\": \\"$INIT_PARAM\\"}"
"""


def call(
    tmp_path: Path, script: str, params: dict[str, object] | None = None, **kw: int
) -> RunResult:
    code = zip_b64({"exec": script}, modes={"exec": 0o755})

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            code_ = action(code, "blackbox", binary=True, env={"INIT_PARAM": "i"})
            return await runtime.run(request(code_, params, env={"__OW_ACTIVATION_ID": "x1"}, **kw))

    return run(scenario())


def test_exec_gets_params_and_env_and_last_line_is_result(tmp_path: Path) -> None:
    result = call(tmp_path, ECHO, {"name": "Ada"})
    assert result.outcome is Outcome.SUCCESS
    assert result.result == {"params": {"name": "Ada"}, "id": "x1", "init": "i"}
    assert [line.partition(" ")[2] for line in result.logs] == [
        "stdout: starting",
        "stderr: to stderr",
    ]
    assert result.init_ms is not None


def test_error_field_is_application_error(tmp_path: Path) -> None:
    result = call(tmp_path, '#!/bin/sh\necho \'{"error": "no"}\'\n')
    assert (result.outcome, result.result) == (Outcome.APPLICATION_ERROR, {"error": "no"})


def test_non_json_last_line_is_developer_error(tmp_path: Path) -> None:
    result = call(tmp_path, "#!/bin/sh\necho hello\n")
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {"error": "The action did not return a dictionary."}
    assert [line.partition(" ")[2] for line in result.logs] == ["stdout: hello"]


def test_timeout(tmp_path: Path) -> None:
    result = call(tmp_path, "#!/bin/sh\necho waiting\nsleep 30\n", timeout_ms=300)
    assert result.outcome is Outcome.TIMEOUT
    assert result.result == {"error": "The action exceeded its time limits of 300 milliseconds."}


def test_zip_without_exec_fails_init(tmp_path: Path) -> None:
    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(zip_b64({"run.sh": "x"}), "blackbox", binary=True)
            return await runtime.run(request(code))

    result = run(scenario())
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {
        "error": "Initialization has failed due to: the zip archive has no 'exec' file"
    }
    assert list((tmp_path / "work").iterdir()) == []


def test_directory_is_removed_after_the_call(tmp_path: Path) -> None:
    call(tmp_path, ECHO)
    assert list((tmp_path / "work").iterdir()) == []
