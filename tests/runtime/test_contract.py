"""What every kind of code gives, one body run on each kind installed here: a cold start
that initialises the code (code that cannot start fails its call), a run that answers with
the call's parameters, the process kept warm for the next call where the kind keeps one (a
fresh one each call where it does not), a failure reported as the call's error, never
raised, and a time limit that ends the run; after each, the next call runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sluice.envelope import envelope
from sluice.runtime.base import ActionCode, Outcome, RunResult
from sluice.runtime.pool import ProcessRuntime
from tests.runtime.helpers import action, open_runtime, request, zip_b64

pytestmark = pytest.mark.anyio

#: the OpenWhisk kinds: parameters in, a JSON object out, {"error": ...} for a failure
PYTHON = """
import os, time
INSTANCE = os.urandom(8).hex()
def main(args):
    if args.get("mode") == "spin":
        time.sleep(60)
    if args.get("mode") == "fail":
        return {"error": "failed as asked"}
    return {"x": args.get("x"), "instance": INSTANCE}
"""
NODE = """
const instance = require('crypto').randomBytes(8).toString('hex');
exports.main = async (args) => {
  if (args.mode === 'spin') await new Promise(r => setTimeout(r, 60000));
  if (args.mode === 'fail') return {error: 'failed as asked'};
  return {x: args.x, instance};
};
"""
GO = """package main

import (
\t"fmt"
\t"time"
)

var instance = fmt.Sprint(time.Now().UnixNano())

func Main(args map[string]interface{}) map[string]interface{} {
\tif args["mode"] == "spin" {
\t\ttime.Sleep(60 * time.Second)
\t}
\tif args["mode"] == "fail" {
\t\treturn map[string]interface{}{"error": "failed as asked"}
\t}
\treturn map[string]interface{}{"x": args["x"], "instance": instance}
}
"""
#: blackbox: `exec '<parameters>'` per call, its last line the result
BLACKBOX = """#!/usr/bin/env python3
import json, os, sys, time
args = json.loads(sys.argv[1])
if args.get("mode") == "spin":
    time.sleep(60)
if args.get("mode") == "fail":
    print(json.dumps({"error": "failed as asked"}))
else:
    print(json.dumps({"x": args.get("x"), "instance": os.urandom(8).hex()}))
"""
#: the kinds that serve HTTP: the request's body in, the response's out; a failure exits 3.
#: The `http` kind's server outlives a call past its limit (as of-watchdog's): it serves
#: each request in a thread of its own, as such servers do
ONE_SHOT = """import json, os, sys, time
args = json.loads(sys.stdin.read() or "{}")
if args.get("mode") == "spin":
    time.sleep(60)
if args.get("mode") == "fail":
    print("failing as asked", file=sys.stderr)
    sys.exit(3)
print(json.dumps({"x": args.get("x"), "instance": os.urandom(8).hex()}))
"""
FN_JSON = """import json, os, sys, time
INSTANCE = os.urandom(8).hex()
for line in sys.stdin:
    if not line.strip():
        continue
    args = json.loads(json.loads(line)["body"] or "{}")
    if args.get("mode") == "spin":
        time.sleep(60)
    if args.get("mode") == "fail":
        sys.exit(3)
    body = json.dumps({"x": args.get("x"), "instance": INSTANCE})
    print(json.dumps({"body": body, "content_type": "application/json"}), flush=True)
"""
#: fn:http-stream: an FDK's HTTP server on the unix socket FN_LISTENER names
FN_STREAM = """import json, os, socketserver, time
from http.server import BaseHTTPRequestHandler
INSTANCE = os.urandom(8).hex()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        args = json.loads(self.rfile.read(int(self.headers["content-length"] or 0)) or "{}")
        if args.get("mode") == "spin":
            time.sleep(60)
        if args.get("mode") == "fail":
            os._exit(3)
        out = json.dumps({"x": args.get("x"), "instance": INSTANCE}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def address_string(self):
        return "fn"
    def log_message(self, format, *args):
        pass
socketserver.UnixStreamServer(os.environ["FN_LISTENER"][len("unix:"):], Handler).serve_forever()
"""
HTTP_SERVER = """import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
INSTANCE = os.urandom(8).hex()
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        args = json.loads(self.rfile.read(int(self.headers["content-length"] or 0)) or "{}")
        if args.get("mode") == "spin":
            time.sleep(60)
        if args.get("mode") == "fail":
            os._exit(3)
        out = json.dumps({"x": args.get("x"), "instance": INSTANCE}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, format, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def _ow_params(args: dict[str, Any]) -> dict[str, Any]:
    return args


def _ow_answer(result: dict[str, Any]) -> dict[str, Any]:
    return result


def _http_params(args: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    return envelope("POST", "http://h/", "", "", headers, json.dumps(args).encode())


def _http_answer(result: dict[str, Any]) -> dict[str, Any]:
    assert result["statusCode"] == 200, result
    decoded: dict[str, Any] = json.loads(result["body"])
    return decoded


@dataclass(frozen=True)
class Case:
    """One kind's code for the contract, and how its calls' parameters and answers look."""

    kind: str
    code: str
    #: whether its processes serve call after call
    warm: bool
    main: str = "main"
    binary: bool = False
    params: Callable[[dict[str, Any]], dict[str, Any]] = _ow_params
    answer: Callable[[dict[str, Any]], dict[str, Any]] = _ow_answer

    def action(self) -> ActionCode:
        return action(self.code, self.kind, binary=self.binary, main=self.main)

    def broken(self) -> ActionCode:
        """Code of this kind that cannot start: source that does not compile, a zip without
        its `exec`, a command that is not there."""
        if self.main.startswith("python3 "):
            return action(self.code, self.kind, binary=True, main="./not-there")
        if self.binary:
            return action(zip_b64({"run.sh": "echo"}), self.kind, binary=True)
        return action(self.code.replace("(", "(("), self.kind)


def _zip(name: str, source: str) -> str:
    return zip_b64({name: source}, modes={name: 0o755})


def _serving(kind: str, name: str, source: str, warm: bool) -> Case:
    """A case of a kind that serves HTTP: a zip of one Python file, run by python3."""
    return Case(
        kind,
        _zip(name, source),
        warm,
        main=f"python3 {name}",
        binary=True,
        params=_http_params,
        answer=_http_answer,
    )


CASES = {
    "python": Case("python:3", PYTHON, warm=True),
    "nodejs": Case("nodejs:20", NODE, warm=True),
    "go": Case("go:default", GO, warm=True),
    "blackbox": Case("blackbox", _zip("exec", BLACKBOX), warm=False, binary=True),
    "fn:default": _serving("fn:default", "func.py", ONE_SHOT, warm=False),
    "fn:json": _serving("fn:json", "func.py", FN_JSON, warm=True),
    "fn:http-stream": _serving("fn:http-stream", "func.py", FN_STREAM, warm=True),
    "process": _serving("process", "func.py", ONE_SHOT, warm=False),
    "http": _serving("http", "server.py", HTTP_SERVER, warm=True),
}


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    async with open_runtime(tmp_path / "work") as made:
        yield made


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest, runtime: ProcessRuntime) -> Case:
    chosen = CASES[str(request.param)]
    if runtime.resolve_kind(chosen.kind) is None:
        pytest.skip(f"{chosen.kind} is not installed here")
    return chosen


async def _run(
    runtime: ProcessRuntime, case: Case, code: ActionCode, timeout_ms: int = 60_000, **args: Any
) -> RunResult:
    """A call of `code` with `args`; its time limit leaves room for a cold build (Go's)."""
    return await runtime.run(request(code, case.params(args), timeout_ms=timeout_ms))


def _answer(case: Case, result: RunResult) -> dict[str, Any]:
    assert result.outcome is Outcome.SUCCESS, result
    assert isinstance(result.result, dict)
    return case.answer(result.result)


async def test_a_cold_start_initialises_and_a_warm_process_serves_again(
    runtime: ProcessRuntime, case: Case
) -> None:
    code = case.action()
    first = await _run(runtime, case, code, x=1)
    assert first.init_ms is not None  # a cold start
    assert _answer(case, first)["x"] == 1
    again = await _run(runtime, case, code, x=2)
    answered = _answer(case, again)
    assert answered["x"] == 2
    # the same process where the kind keeps one warm; a fresh one each call where not
    assert (answered["instance"] == _answer(case, first)["instance"]) is case.warm
    assert (again.init_ms is None) is case.warm


async def test_code_that_cannot_start_fails_its_call_and_other_code_runs(
    runtime: ProcessRuntime, case: Case
) -> None:
    failed = await _run(runtime, case, case.broken(), x=1)
    assert failed.outcome is Outcome.DEVELOPER_ERROR, failed
    assert isinstance(failed.result, dict)
    assert failed.result.get("error"), failed
    assert _answer(case, await _run(runtime, case, case.action(), x=5))["x"] == 5


async def test_a_failure_is_the_calls_error_and_the_next_call_runs(
    runtime: ProcessRuntime, case: Case
) -> None:
    code = case.action()
    failed = await _run(runtime, case, code, mode="fail")
    assert failed.outcome in (Outcome.APPLICATION_ERROR, Outcome.DEVELOPER_ERROR), failed
    # why, in the kind's own shape (a message; an HTTP function's response of status 500)
    assert isinstance(failed.result, dict)
    assert failed.result.get("error"), failed
    assert _answer(case, await _run(runtime, case, code, x=3))["x"] == 3


async def test_a_run_past_its_time_limit_ends_and_the_next_call_runs(
    runtime: ProcessRuntime, case: Case
) -> None:
    code = case.action()
    if case.warm:  # the limit holds on a warm process too, not only at its start
        _answer(case, await _run(runtime, case, code, x=0))
    stuck = await _run(runtime, case, code, timeout_ms=500, mode="spin")
    assert stuck.outcome is Outcome.TIMEOUT, stuck
    assert _answer(case, await _run(runtime, case, code, x=4))["x"] == 4
