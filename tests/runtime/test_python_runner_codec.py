"""The Python runner reads and writes its JSON lines with json's C scanner and encoder directly
(json itself costs start-up time): what it reads and writes must be what json.loads and
json.dumps would give, errors included."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest

from sluice.runtime.kinds import PYTHON_RUNNER


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sluice_python_runner", PYTHON_RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _runner()

VALUES: list[Any] = [
    {},
    [],
    {"a": 1, "b": [1, 2.5, None, True, False], "c": {"d": "e"}},
    {"w": "h\u00e9 \u2603 \U0001f600", "ctl": '\x00\x1f\n\t"\\/', "lone": "\ud800"},
    {"big": 10**40, "neg": -7, "f": 1e300, "tiny": 5e-324, "third": 1 / 3, "z": -0.0},
    [{"nested": [[[]]]}, "x" * 1000],
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_json_dumps(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert runner.dumps(value) == expected


def _error(call: Any, *args: Any) -> tuple[type[BaseException], str]:
    try:
        call(*args)
    except Exception as exc:  # the type and message are what is compared
        return type(exc), str(exc)
    raise AssertionError(f"{call.__name__}{args!r} did not fail")


@pytest.mark.parametrize(
    "value",
    [{"nan": float("nan")}, {"inf": [float("-inf")]}, {"set": {1}}, {"b": b"x"}, {(1, 2): 1}],
)
def test_dumps_fails_as_json_dumps(value: Any) -> None:
    def real(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    assert _error(runner.dumps, value) == _error(real, value)


def test_dumps_circular_fails_as_json_dumps() -> None:
    value: dict[str, Any] = {}
    value["self"] = value
    assert _error(runner.dumps, value) == _error(json.dumps, value)


@pytest.mark.parametrize(
    "line",
    [
        b'{"op":"init","id":1,"code":"def main(a):\\n  return {}\\n","env":{"K":"v"}}\n',
        '{"op":"run","id":2,"value":{"s":"h\u00e9 \\ud83d\\ude00"},"limit":1048576}\n'.encode(),
        b'{"lone":"\\ud800","n":[1,-2.5e3,1e400,true,false,null]}\r\n',
        b' \t{"lead":"space"}  \n',
        b'{"a":1}',
        b'{"c":[NaN,Infinity,-Infinity]}\n',
        b'\xef\xbb\xbf{"bom":1}\n',
        '{"utf16":1}'.encode("utf-16-le"),
    ],
)
def test_loads_is_json_loads(line: bytes) -> None:
    assert repr(runner.loads(line)) == repr(json.loads(line))


@pytest.mark.parametrize(
    "line",
    [b"", b"\n", b"{", b'{"a":1} {"b":2}\n', b'{"a":nan}\n', b"{'a':1}\n", b"\xff\n", b"[1]x"],
)
def test_loads_fails_as_json_loads(line: bytes) -> None:
    assert _error(runner.loads, line) == _error(json.loads, line)
