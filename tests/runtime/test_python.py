"""The Python runner: code loading, results and errors, the functions' import path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluice.runtime.base import Outcome, RunResult
from tests.runtime.helpers import action, open_runtime, request, run, zip_b64


def call(
    tmp_path: Path,
    code: str,
    params: dict[str, Any] | None = None,
    *,
    binary: bool = False,
    main: str = "main",
    **config: Any,
) -> RunResult:
    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work", **config) as runtime:
            code_ = action(code, "python:3.11", binary=binary, main=main)
            return await runtime.run(request(code_, params))

    return run(scenario())


def test_text_code(tmp_path: Path) -> None:
    code = "def main(args):\n    return {'greeting': 'Hello ' + args.get('name', 'stranger')}\n"
    result = call(tmp_path, code, {"name": "Ada"})
    assert result.outcome is Outcome.SUCCESS
    assert result.result == {"greeting": "Hello Ada"}
    assert result.size == len('{"greeting":"Hello Ada"}')
    assert result.init_ms is not None


def test_unicode_result_size_is_bytes(tmp_path: Path) -> None:
    result = call(tmp_path, "def main(a):\n    return {'w': 'h\u00e9'}\n")
    assert result.result == {"w": "h\u00e9"}
    assert result.size == len('{"w":"h\u00e9"}'.encode())


def test_other_entry_point_name(tmp_path: Path) -> None:
    result = call(tmp_path, "def handle(a):\n    return {'via': 'handle'}\n", main="handle")
    assert result.result == {"via": "handle"}


def test_list_result_is_allowed(tmp_path: Path) -> None:
    result = call(tmp_path, "def main(a):\n    return [1, 2]\n")
    assert (result.outcome, result.result) == (Outcome.SUCCESS, [1, 2])


def test_coroutine_main_is_awaited(tmp_path: Path) -> None:
    code = "import asyncio\nasync def main(a):\n    await asyncio.sleep(0)\n    return {'ok': 1}\n"
    assert call(tmp_path, code).result == {"ok": 1}


def test_error_field_is_application_error(tmp_path: Path) -> None:
    result = call(tmp_path, "def main(a):\n    return {'error': 'bad input'}\n")
    assert (result.outcome, result.result) == (Outcome.APPLICATION_ERROR, {"error": "bad input"})


def test_exception_is_developer_error_with_traceback_in_logs(tmp_path: Path) -> None:
    result = call(tmp_path, "def main(a):\n    raise ValueError('boom')\n")
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {"error": "An error has occurred: ValueError: boom"}
    assert any(line.endswith("stderr: ValueError: boom") for line in result.logs)


def test_non_dict_results_are_developer_errors(tmp_path: Path) -> None:
    for value in ("'text'", "42", "None"):
        result = call(tmp_path, f"def main(a):\n    return {value}\n")
        assert result.outcome is Outcome.DEVELOPER_ERROR, value
        assert result.result == {"error": "The action did not return a dictionary."}


def test_syntax_error_fails_init(tmp_path: Path) -> None:
    result = call(tmp_path, "def main(a)\n    return {}\n")
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert isinstance(result.result, dict)
    assert result.result["error"].startswith("Initialization has failed due to: SyntaxError")
    assert any("SyntaxError" in line for line in result.logs)


def test_missing_entry_point_fails_init(tmp_path: Path) -> None:
    result = call(tmp_path, "x = 1\n")
    assert result.result == {
        "error": "Initialization has failed due to: Action entrypoint 'main' is not a function."
    }


def test_name_is_not_dunder_main(tmp_path: Path) -> None:
    code = (
        "ran = False\nif __name__ == '__main__':\n    ran = True\n"
        "def main(a):\n    return {'ran': ran, 'name': __name__}\n"
    )
    assert call(tmp_path, code).result == {"ran": False, "name": "main__"}


def test_zip_action_with_dunder_main_and_helper_module(tmp_path: Path) -> None:
    code = zip_b64(
        {
            "__main__.py": "import helper\n"
            "def main(a):\n    return {'sum': helper.add(a['x'], 1)}\n",
            "helper.py": "def add(a, b):\n    return a + b\n",
        }
    )
    result = call(tmp_path, code, {"x": 41}, binary=True)
    assert (result.outcome, result.result) == (Outcome.SUCCESS, {"sum": 42})


def test_zip_without_dunder_main_fails_init(tmp_path: Path) -> None:
    code = zip_b64({"main.py": "def main(a):\n    return {}\n"})
    result = call(tmp_path, code, binary=True)
    assert result.result == {
        "error": "Initialization has failed due to: Zip file does not include __main__.py"
    }


def test_platform_packages_are_not_importable(tmp_path: Path) -> None:
    code = """
import importlib.util, sys
def main(a):
    return {
        "orjson": importlib.util.find_spec("orjson") is not None,
        "sluice": importlib.util.find_spec("sluice") is not None,
        "site_packages": [p for p in sys.path if "site-packages" in p],
    }
"""
    assert call(tmp_path, code).result == {"orjson": False, "sluice": False, "site_packages": []}


def test_python_path_dirs_are_importable(tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "openwhisk.py").write_text("def client():\n    return 'a client'\n")
    code = "import openwhisk\ndef main(a):\n    return {'c': openwhisk.client()}\n"
    result = call(tmp_path, code, python_path=(str(libs),))
    assert result.result == {"c": "a client"}
