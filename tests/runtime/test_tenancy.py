"""A warm process serves one namespace: the same code run for two namespaces (a shared
package's action called by its owner and by another namespace) gets a process for each, in
every warm family, and an initialised process never goes to the other namespace."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from sluice.envelope import envelope
from sluice.runtime.base import ActionCode, Outcome, RunResult
from sluice.runtime.pool import ProcessRuntime
from tests.runtime.helpers import action, open_runtime, request, run, wait_until, zip_b64

#: the process's identity (pids repeat inside a sandbox's pid namespace) and the namespaces
#: of every call it has served; waits for the file `release` when asked to
WHO_JS = """
const fs = require('fs');
const instance = require('crypto').randomBytes(8).toString('hex');
const seen = [];
exports.main = async (args) => {
  seen.push(process.env.__OW_NAMESPACE);
  while (args.release && !fs.existsSync(args.release)) await new Promise(r => setTimeout(r, 5));
  return {instance, seen, key: process.env.__OW_API_KEY};
};
"""

WHO_PY = """
import os
INSTANCE = os.urandom(8).hex()
SEEN = []

def main(args):
    SEEN.append(os.environ["__OW_NAMESPACE"])
    return {"instance": INSTANCE, "seen": SEEN, "key": os.environ["__OW_API_KEY"]}
"""

#: the `http` kind: a server answering with its identity
SERVER_PY = """
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
INSTANCE = os.urandom(8).hex()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        out = json.dumps({"instance": INSTANCE}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format, *args):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

#: Fn's json format: one frame a call on stdin, the answer on stdout
JSON_PY = """import json, os, sys
INSTANCE = os.urandom(8).hex()
for line in sys.stdin:
    if line.strip():
        answer = {"body": json.dumps({"instance": INSTANCE}), "content_type": "application/json"}
        print(json.dumps(answer), flush=True)
"""


def shared(code: ActionCode, caller: str) -> ActionCode:
    """`code` (of its owner) as a call of namespace `caller` runs it."""
    return dataclasses.replace(code, namespace=caller)


async def call(runtime: ProcessRuntime, code: ActionCode, **params: Any) -> dict[str, Any]:
    env = {"__OW_NAMESPACE": code.namespace, "__OW_API_KEY": f"key-of-{code.namespace}"}
    result = await runtime.run(request(code, params, env=env))
    return body(result)


def body(result: RunResult) -> dict[str, Any]:
    assert result.outcome is Outcome.SUCCESS, result
    assert isinstance(result.result, dict)
    answer = result.result
    if "statusCode" in answer:  # an HTTP function's response
        decoded: dict[str, Any] = orjson.loads(answer["body"])
        return decoded
    return answer


@pytest.mark.parametrize(("kind", "source"), [("nodejs:20", WHO_JS), ("python:3", WHO_PY)])
@pytest.mark.parametrize("stem_cells", [0, 1])
def test_a_shared_action_runs_in_the_caller_s_own_process(
    tmp_path: Path, kind: str, source: str, stem_cells: int
) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", stem_cells=stem_cells) as runtime:
            owner = action(source, kind, key="alice/tools/who@0.0.1#1", namespace="alice")
            first = await call(runtime, owner)
            other = await call(runtime, shared(owner, "bob"))
            again = await call(runtime, owner)
            assert other["instance"] != first["instance"]
            assert other["seen"] == ["bob"]
            assert other["key"] == "key-of-bob"
            assert again["instance"] == first["instance"]
            assert again["seen"] == ["alice", "alice"]
            assert again["key"] == "key-of-alice"
            assert (await call(runtime, shared(owner, "bob")))["seen"] == ["bob", "bob"]
            idle = runtime.pool.snapshot().idle
            assert set(idle) == {owner.process_key, shared(owner, "bob").process_key}

    run(scenario())


def test_a_process_with_room_for_more_calls_takes_none_of_another_namespace(
    tmp_path: Path,
) -> None:
    release = tmp_path / "release"

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            owner = action(WHO_JS, key="alice/tools/who@0.0.1#1", namespace="alice", concurrency=4)
            held = asyncio.ensure_future(call(runtime, owner, release=str(release)))
            await wait_until(lambda: runtime.pool.snapshot().busy, "alice's call to be running")
            other = await call(runtime, shared(owner, "bob"))
            release.touch()
            first = await held
            assert other["instance"] != first["instance"]
            assert other["seen"] == ["bob"]
            assert first["seen"] == ["alice"]
            joined = await call(runtime, owner)
            assert joined["instance"] == first["instance"]

    run(scenario())


def test_an_http_function_s_server_serves_one_namespace(tmp_path: Path) -> None:
    code = zip_b64({"server.py": SERVER_PY})

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            main = "python3 server.py"
            owner = action(code, "http", binary=True, main=main, key="a/srv@1#1", namespace="alice")
            params = envelope("POST", "http://h/", "", "", {}, b"")
            first = body(await runtime.run(request(owner, params)))
            other = body(await runtime.run(request(shared(owner, "bob"), params)))
            again = body(await runtime.run(request(owner, params)))
            assert other["instance"] != first["instance"]
            assert again["instance"] == first["instance"]

    run(scenario())


def test_an_fn_hot_function_serves_one_namespace(tmp_path: Path) -> None:
    code = zip_b64({"func.py": JSON_PY})

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            main = "python3 func.py"
            owner = action(
                code, "fn:json", binary=True, main=main, key="a/fn@1#1", namespace="alice"
            )
            params = envelope("POST", "http://h/", "", "", {}, b"{}")
            first = body(await runtime.run(request(owner, params)))
            other = body(await runtime.run(request(shared(owner, "bob"), params)))
            again = body(await runtime.run(request(owner, params)))
            assert other["instance"] != first["instance"]
            assert again["instance"] == first["instance"]

    run(scenario())
