"""Reading the peers harness's output: its last stdout line is one JSON object."""

from __future__ import annotations

from bench.suite.peers import parse_output


def test_the_last_line_is_the_figures() -> None:
    out = 'warming up\n{"lib": "huey", "jobs_per_s": 2763.1, "complete": true}\n'
    assert parse_output(out, "", 0) == {"lib": "huey", "jobs_per_s": 2763.1, "complete": True}


def test_no_json_gives_the_error_with_the_last_stderr_line() -> None:
    got = parse_output("", "Traceback...\nModuleNotFoundError: No module named 'huey'\n", 1)
    assert got == {"error": "exit 1: ModuleNotFoundError: No module named 'huey'"}
    assert parse_output("not json\n", "", 2) == {"error": "exit 2: no output"}
    assert parse_output("[1, 2]\n", "", 0) == {"error": "exit 0: no output"}
