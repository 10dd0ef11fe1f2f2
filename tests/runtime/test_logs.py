"""Log capture: format, per-call separation, both streams, limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sluice.runtime.logs import SENTINEL, CallLogs, LineSplitter, format_line, timestamp
from tests.runtime.helpers import action, open_runtime, request, run

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr): (.*)$")


def test_timestamp_format() -> None:
    ns = int(datetime(2026, 11, 23, 7, 30, 29, tzinfo=UTC).timestamp()) * 10**9 + 345825000
    assert timestamp(ns) == "2026-11-23T07:30:29.345825000Z"
    assert format_line(ns, "stdout", "hi") == "2026-11-23T07:30:29.345825000Z stdout: hi"
    assert timestamp(ns + 1) == "2026-11-23T07:30:29.345825001Z"
    assert timestamp(ns + 10**9) == "2026-11-23T07:30:30.345825000Z"


def test_line_splitter_joins_chunks_and_cuts_runaway_lines() -> None:
    lines: list[bytes] = []
    splitter = LineSplitter(lines.append, max_line=100)
    splitter.feed(b"one\ntw")
    splitter.feed(b"o\r\nthree")
    assert lines == [b"one", b"two"]
    splitter.flush()
    assert lines[-1] == b"three"
    lines.clear()
    splitter.feed(b"x" * 250)
    splitter.feed(b"\n")
    assert b"".join(lines) == b"x" * 250
    assert all(len(line) <= 100 + len(SENTINEL) for line in lines)


def test_call_logs_limit_and_stream_end() -> None:
    logs = CallLogs(limit_bytes=10)
    logs.add("stdout", b"12345", 1)
    logs.add("stderr", b"1234", 2)
    logs.add("stdout", b"12", 3)
    logs.add("stdout", b"1", 4)
    lines = logs.lines()
    assert [line.partition(" ")[2] for line in lines] == [
        "stdout: 12345",
        "stderr: 1234",
        "stderr: Logs were truncated because the total bytes size exceeds the limit of 10 bytes.",
    ]
    assert not logs.complete
    logs.end("stdout")
    logs.end("stderr")
    assert logs.complete


def test_lines_of_each_call_with_both_streams(tmp_path: Path) -> None:
    code = """
    exports.main = (p) => {
      console.log('out ' + p.n);
      console.error('err ' + p.n);
      process.stdout.write('partial ' + p.n);
      return {};
    };
    """

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code_ = action(code)
            for n in (1, 2):
                result = await runtime.run(request(code_, {"n": n}))
                parsed = [LINE.match(line) for line in result.logs]
                assert all(parsed), result.logs
                found = sorted((m.group(1), m.group(2)) for m in parsed if m)
                assert found == [
                    ("stderr", f"err {n}"),
                    ("stdout", f"out {n}"),
                    ("stdout", f"partial {n}"),
                ]
                assert not any(SENTINEL.decode() in line for line in result.logs)

    run(scenario())


def test_python_logs_keep_order_within_a_stream(tmp_path: Path) -> None:
    code = (
        "import sys\ndef main(a):\n    for i in range(5):\n        print('line', i)\n"
        "    print('oops', file=sys.stderr)\n    return {}\n"
    )

    async def scenario() -> list[str]:
        async with open_runtime(tmp_path / "work") as runtime:
            return (await runtime.run(request(action(code, "python:3.11")))).logs

    logs = run(scenario())
    stdout = [line.partition("stdout: ")[2] for line in logs if " stdout: " in line]
    assert stdout == [f"line {i}" for i in range(5)]
    assert next(line for line in logs if " stderr: " in line).endswith("stderr: oops")
    times = [line[:30] for line in logs]
    assert times == sorted(times)


def test_a_line_of_one_call_does_not_reach_the_next_call(tmp_path: Path) -> None:
    code_js = "exports.main = (p) => { console.log('call ' + p.n); console.error('e' + p.n); };"
    code_py = (
        "import sys\ndef main(p):\n    print('call', p['n'])\n"
        "    sys.stderr.write('e%d' % p['n'])\n    return {}\n"
    )

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            for code_ in (action(code_js), action(code_py, "python:3.11")):
                for n in (1, 2, 3):
                    result = await runtime.run(request(code_, {"n": n}))
                    texts = sorted(line.partition(": ")[2] for line in result.logs)
                    assert texts == [f"call {n}", f"e{n}"]

    run(scenario())


def test_module_level_output_goes_to_the_first_call(tmp_path: Path) -> None:
    code = "print('loading')\ndef main(a):\n    print('running')\n    return {}\n"

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code_ = action(code, "python:3.11")
            first = await runtime.run(request(code_))
            second = await runtime.run(request(code_))
            assert [line.partition(": ")[2] for line in first.logs] == ["loading", "running"]
            assert [line.partition(": ")[2] for line in second.logs] == ["running"]

    run(scenario())


def test_utf8_and_long_lines(tmp_path: Path) -> None:
    code = (
        "exports.main = () => { console.log('h\\u00e9 \\u2713'); console.log('y'.repeat(70000)); };"
    )

    async def scenario() -> list[str]:
        async with open_runtime(tmp_path / "work") as runtime:
            return (await runtime.run(request(action(code)))).logs

    logs = run(scenario())
    assert logs[0].endswith("stdout: h\u00e9 \u2713")
    assert logs[1].endswith("stdout: " + "y" * 70000)
