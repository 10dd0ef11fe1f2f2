"""Fn's default format: body on stdin, stdout is the response, FN_* variables, one process
per call; async functions' stdout goes to the log."""

from __future__ import annotations

from pathlib import Path

from sluice.envelope import envelope
from sluice.runtime.base import Outcome, RunResult
from tests.runtime.helpers import action, open_runtime, request, run, zip_b64

GREET = """import json, os, sys
body = sys.stdin.read()
name = json.loads(body or "{}").get("name", "World")
print("greeting", name, file=sys.stderr)
print(json.dumps({"message": f"Hello {name}", "method": os.environ["FN_METHOD"],
                  "app": os.environ.get("FN_APP_NAME"), "x": os.environ.get("FN_HEADER_X_THING")}))
"""


def call(
    tmp_path: Path,
    source: str,
    params: dict[str, object],
    env: dict[str, str] | None = None,
    main: str = "python3 func.py",
    **kw: int,
) -> RunResult:
    code = zip_b64({"func.py": source})

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            fn = action(code, "fn:default", binary=True, main=main, env=env or {})
            return await runtime.run(request(fn, params, **kw))

    return run(scenario())


def test_body_on_stdin_and_stdout_is_the_response(tmp_path: Path) -> None:
    params = envelope("POST", "http://h/r/a/b", "", "", {"X-Thing": "1"}, b'{"name": "Ada"}')
    result = call(tmp_path, GREET, params, {"FN_APP_NAME": "myapp"})
    assert result.outcome is Outcome.SUCCESS
    assert result.result == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"message": "Hello Ada", "method": "POST", "app": "myapp", "x": "1"}\n',
    }


def test_sync_log_holds_stderr_only(tmp_path: Path) -> None:
    result = call(tmp_path, GREET, envelope("GET", "", "", "", {}, b""))
    assert [line.partition(" ")[2] for line in result.logs] == ["stderr: greeting World"]


def test_async_log_holds_stdout_too(tmp_path: Path) -> None:
    result = call(tmp_path, GREET, envelope("GET", "", "", "", {}, b""), {"FN_TYPE": "async"})
    texts = [line.partition(" ")[2] for line in result.logs]
    assert texts[0] == "stderr: greeting World"
    assert texts[1].startswith('stdout: {"message": "Hello World"')


def test_plain_params_become_a_json_body(tmp_path: Path) -> None:
    result = call(tmp_path, GREET, {"name": "Bo"})
    assert isinstance(result.result, dict)
    assert result.result["body"].startswith('{"message": "Hello Bo"')


def test_non_zero_exit_is_an_error(tmp_path: Path) -> None:
    result = call(tmp_path, "import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)\n", {})
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {"error": "The function exited with status 3."}


def test_time_limit_kills_it(tmp_path: Path) -> None:
    result = call(tmp_path, "import time\ntime.sleep(30)\n", {}, timeout_ms=500)
    assert result.outcome is Outcome.TIMEOUT


def test_a_missing_command_is_a_developer_error(tmp_path: Path) -> None:
    result = call(tmp_path, "", {}, main="./nothing-here")
    assert result.outcome is Outcome.DEVELOPER_ERROR
