"""Time, memory, result size and log size limits, and processes that die mid-call."""

from __future__ import annotations

from pathlib import Path

from sluice.runtime.base import Outcome, RunResult
from tests.runtime.helpers import action, open_runtime, pid_gone, request, run


def call(tmp_path: Path, code: str, kind: str = "nodejs:20", **limits: int) -> RunResult:
    memory_mb = limits.pop("memory_mb", 256)

    async def scenario() -> RunResult:
        async with open_runtime(tmp_path / "work") as runtime:
            code_ = action(code, kind, memory_mb=memory_mb)
            return await runtime.run(request(code_, **limits))

    return run(scenario())


def test_node_timeout(tmp_path: Path) -> None:
    code = "exports.main = () => { console.log('before'); while (true) {} };"
    result = call(tmp_path, code, timeout_ms=300)
    assert result.outcome is Outcome.TIMEOUT
    assert result.result == {"error": "The action exceeded its time limits of 300 milliseconds."}
    assert any(line.endswith("stdout: before") for line in result.logs)
    assert result.end_ms - result.start_ms >= 300


def test_python_timeout_kills_children_too(tmp_path: Path) -> None:
    code = """
import subprocess, time
def main(a):
    child = subprocess.Popen(["sleep", "60"])
    print(child.pid, flush=True)
    time.sleep(60)
"""
    result = call(tmp_path, code, "python:3.11", timeout_ms=500)
    assert result.outcome is Outcome.TIMEOUT
    assert result.result == {"error": "The action exceeded its time limits of 500 milliseconds."}
    child = int(result.logs[0].rpartition(" ")[2])
    assert pid_gone(child)


def test_timeout_during_init(tmp_path: Path) -> None:
    result = call(tmp_path, "while (true) {}\nexports.main = () => ({});", timeout_ms=300)
    assert result.outcome is Outcome.TIMEOUT
    assert result.init_ms is not None


def test_node_memory_limit(tmp_path: Path) -> None:
    code = """
    exports.main = async () => {
      const kept = [];
      for (let i = 0; i < 100; i++) {
        kept.push(Buffer.alloc(16 << 20, 1));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return {kept: kept.length};
    };
    """
    result = call(tmp_path, code, memory_mb=128)
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {"error": "The action exceeded its memory limit of 128 MB."}


def test_node_heap_exhaustion_is_a_memory_error(tmp_path: Path) -> None:
    code = """
    exports.main = () => {
      const kept = [];
      while (true) kept.push(new Array(100000).fill({a: 1}));
    };
    """
    result = call(tmp_path, code, memory_mb=64)
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {"error": "The action exceeded its memory limit of 64 MB."}


def test_python_memory_limit(tmp_path: Path) -> None:
    code = """
import time
def main(a):
    kept = []
    for _ in range(100):
        kept.append(b"x" * (16 << 20))
        time.sleep(0.02)
    return {"kept": len(kept)}
"""
    result = call(tmp_path, code, "python:3.11", memory_mb=64)
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {"error": "The action exceeded its memory limit of 64 MB."}


def test_node_process_exit_mid_call(tmp_path: Path) -> None:
    code = "exports.main = () => { console.log('bye'); process.exit(1); };"
    result = call(tmp_path, code)
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {
        "error": "The action did not produce a valid response and exited unexpectedly."
    }
    assert any(line.endswith("stdout: bye") for line in result.logs)


def test_python_os_exit_mid_call(tmp_path: Path) -> None:
    code = "import os\ndef main(a):\n    print('bye', flush=True)\n    os._exit(0)\n"
    result = call(tmp_path, code, "python:3.11")
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {
        "error": "The action did not produce a valid response and exited unexpectedly."
    }
    assert any(line.endswith("stdout: bye") for line in result.logs)


def test_uncaught_async_exception_crashes_the_call(tmp_path: Path) -> None:
    code = "exports.main = () => new Promise(() => setTimeout(() => { throw new Error('x'); }));"
    result = call(tmp_path, code)
    assert result.outcome is Outcome.DEVELOPER_ERROR
    assert result.result == {
        "error": "The action did not produce a valid response and exited unexpectedly."
    }


def test_result_size_limit(tmp_path: Path) -> None:
    for kind, code in (
        ("nodejs:20", "exports.main = () => ({x: 'a'.repeat(200)});"),
        ("python:3.11", "def main(a):\n    return {'x': 'a' * 200}\n"),
    ):
        result = call(tmp_path, code, kind, result_limit_bytes=100)
        assert result.outcome is Outcome.DEVELOPER_ERROR, kind
        assert result.result == {
            "error": "The action produced a response that exceeded the allowed length: "
            "208 > 100 bytes."
        }, kind


def test_result_at_the_limit_passes(tmp_path: Path) -> None:
    result = call(tmp_path, "exports.main = () => ({x: 'a'.repeat(200)});", result_limit_bytes=208)
    assert result.outcome is Outcome.SUCCESS
    assert result.size == 208


def test_log_truncation(tmp_path: Path) -> None:
    code = "exports.main = () => { for (let i = 0; i < 50; i++) console.log('line ' + i); };"
    result = call(tmp_path, code, log_limit_bytes=40)
    # "line 0".."line 5" are 6 bytes each (36 bytes); "line 6" would pass 40
    texts = [line.partition(": ")[2] for line in result.logs]
    assert texts == [
        *(f"line {i}" for i in range(6)),
        "Logs were truncated because the total bytes size exceeds the limit of 40 bytes.",
    ]
    assert " stderr: Logs were truncated" in result.logs[-1]
    assert result.outcome is Outcome.SUCCESS


def test_truncation_does_not_stop_the_process_being_reused(tmp_path: Path) -> None:
    code = (
        "let n = 0;\nexports.main = () => { n++; "
        "for (let i = 0; i < 1000; i++) console.log('x'.repeat(100)); return {n}; };"
    )

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code_ = action(code)
            first = await runtime.run(request(code_, log_limit_bytes=1000))
            second = await runtime.run(request(code_, log_limit_bytes=1000))
            assert first.result == {"n": 1}
            assert second.result == {"n": 2}
            assert len(second.logs) == 11

    run(scenario())
