"""The Node.js runner: how code is loaded and how results map to outcomes (OpenWhisk's rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluice.runtime.base import Outcome, RunResult
from tests.runtime.helpers import action, open_runtime, request, run, zip_b64


def call(tmp_path: Path, code: str, params: dict[str, Any] | None = None, **kw: Any) -> RunResult:
    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work", **kw) as runtime:
            return await runtime.run(request(action(code), params))

    return run(scenario())


def test_exported_main(tmp_path: Path) -> None:
    code = "function main(p) { return {payload: 'Hello ' + p.name}; }\nexports.main = main;"
    result = call(tmp_path, code, {"name": "Ada"})
    assert result.outcome is Outcome.SUCCESS
    assert result.result == {"payload": "Hello Ada"}
    assert result.size == len('{"payload":"Hello Ada"}')
    assert result.init_ms is not None
    assert result.start_ms <= result.end_ms


def test_bare_function_main_without_exports(tmp_path: Path) -> None:
    result = call(tmp_path, "function main(params) {\n  return {n: params.n + 1};\n}", {"n": 1})
    assert result.outcome is Outcome.SUCCESS
    assert result.result == {"n": 2}


def test_other_entry_point_name(tmp_path: Path) -> None:
    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action("exports.handler = () => ({via: 'handler'});", main="handler")
            return await runtime.run(request(code))

    assert run(scenario()).result == {"via": "handler"}


def test_async_and_promise_results_are_awaited(tmp_path: Path) -> None:
    code = """
    exports.main = async (p) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return {doubled: p.x * 2};
    };
    """
    assert call(tmp_path, code, {"x": 21}).result == {"doubled": 42}
    code = "function main() { return Promise.resolve({ok: true}); }"
    assert call(tmp_path, code).result == {"ok": True}


def test_undefined_result_is_empty_object(tmp_path: Path) -> None:
    result = call(tmp_path, "function main() { }")
    assert (result.outcome, result.result) == (Outcome.SUCCESS, {})


def test_array_result_is_allowed(tmp_path: Path) -> None:
    result = call(tmp_path, "function main() { return [1, 'two', {three: 3}]; }")
    assert (result.outcome, result.result) == (Outcome.SUCCESS, [1, "two", {"three": 3}])


def test_error_field_is_application_error(tmp_path: Path) -> None:
    result = call(tmp_path, "function main() { return {error: 'bad input'}; }")
    assert (result.outcome, result.result) == (Outcome.APPLICATION_ERROR, {"error": "bad input"})


def test_rejected_promise_is_application_error_with_serialized_error(tmp_path: Path) -> None:
    code = """
    function main() {
      const e = new Error('nope');
      e.statusCode = 404;
      e.fn = () => 1;
      return Promise.reject(e);
    }
    """
    result = call(tmp_path, code)
    assert result.outcome is Outcome.APPLICATION_ERROR
    assert isinstance(result.result, dict)
    error = result.result["error"]
    assert error["name"] == "Error"
    assert error["message"] == "nope"
    assert error["statusCode"] == 404
    assert "fn" not in error
    assert error["stack"].startswith("Error: nope\n")
    assert list(error) == ["statusCode", "name", "message", "stack"]


def test_rejection_with_plain_value(tmp_path: Path) -> None:
    result = call(tmp_path, "function main() { return Promise.reject({reason: 'x'}); }")
    assert result.result == {"error": {"reason": "x"}}
    assert result.outcome is Outcome.APPLICATION_ERROR
    result = call(tmp_path, "function main() { return Promise.reject(); }")
    assert result.result == {"error": {}}


def test_synchronous_throw_is_developer_error(tmp_path: Path) -> None:
    result = call(tmp_path, "function main() { throw new Error('boom'); }")
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {"error": "An error has occurred: Error: boom"}
    assert any("stderr: Error: boom" in line for line in result.logs)


def test_non_object_results_are_developer_errors(tmp_path: Path) -> None:
    for value in ("'a string'", "42", "null", "true"):
        result = call(tmp_path, f"function main() {{ return {value}; }}")
        assert result.outcome is Outcome.DEVELOPER_ERROR, value
        assert result.result == {"error": "The action did not return a dictionary."}


def test_unserializable_result_is_developer_error(tmp_path: Path) -> None:
    result = call(tmp_path, "function main() { const o = {}; o.self = o; return o; }")
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert isinstance(result.result, dict)
    assert result.result["error"].startswith("An error has occurred: TypeError: ")


def test_syntax_error_fails_init(tmp_path: Path) -> None:
    result = call(tmp_path, "function main( { return {}; }")
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert isinstance(result.result, dict)
    message = result.result["error"]
    assert message.startswith("Initialization has failed due to: SyntaxError: ")
    assert result.init_ms is not None
    assert any(" stderr: " in line and "SyntaxError" in line for line in result.logs)


def test_missing_entry_point_fails_init(tmp_path: Path) -> None:
    result = call(tmp_path, "exports.other = () => ({});")
    assert result.result == {
        "error": "Initialization has failed due to: Error: Action entrypoint 'main' is not a "
        "function."
    }


def test_zip_action_with_package_json(tmp_path: Path) -> None:
    code = zip_b64(
        {
            "package.json": '{"name": "zipped", "main": "lib/entry.js"}',
            "lib/entry.js": "const h = require('./helper');\n"
            "exports.main = (p) => ({greeting: h.greet(p.name), dir: __dirname});",
            "lib/helper.js": "exports.greet = (n) => 'Hi ' + n;",
        }
    )

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action(code, binary=True), {"name": "Zed"}))

    result = run(scenario())
    assert result.outcome is Outcome.SUCCESS
    assert isinstance(result.result, dict)
    assert result.result["greeting"] == "Hi Zed"
    assert Path(result.result["dir"]).is_relative_to(tmp_path / "work")


def test_zip_action_with_index_js(tmp_path: Path) -> None:
    code = zip_b64({"index.js": "exports.main = () => ({from: 'index'});"})

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action(code, binary=True)))

    assert run(scenario()).result == {"from": "index"}


def test_bad_zip_fails_init(tmp_path: Path) -> None:
    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action("bm90IGEgemlw", binary=True)))

    result = run(scenario())
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert isinstance(result.result, dict)
    assert result.result["error"].startswith("Initialization has failed due to: ")


def test_require_module_found_via_node_path(tmp_path: Path) -> None:
    modules = tmp_path / "node_modules"
    (modules / "openwhisk").mkdir(parents=True)
    (modules / "openwhisk" / "index.js").write_text(
        "module.exports = () => ({client: true, host: process.env.__OW_API_HOST});"
    )
    code = "const openwhisk = require('openwhisk');\nexports.main = () => openwhisk();"

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work", node_path=(str(modules),)) as runtime:
            return await runtime.run(
                request(action(code), env={"__OW_API_HOST": "http://127.0.0.1:1"})
            )

    result = run(scenario())
    assert result.result == {"client": True, "host": "http://127.0.0.1:1"}


def test_heap_size_follows_memory_limit(tmp_path: Path) -> None:
    code = """
    const v8 = require('v8');
    exports.main = () => ({heap: v8.getHeapStatistics().heap_size_limit});
    """

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            return await runtime.run(request(action(code, memory_mb=128)))

    result = run(scenario())
    assert isinstance(result.result, dict)
    heap_mb = result.result["heap"] / (1 << 20)
    assert 128 <= heap_mb < 256
