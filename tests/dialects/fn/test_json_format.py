"""Fn's `json` format through the Fn API: a warm function reading one JSON object per call
on stdin and answering one on stdout (body, content_type, protocol.status_code and
headers), its stray stdout and its stderr in the call's log; and a route's idle_timeout
stopping the warm process once it has been idle that long."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.dialects.fn.helpers import fn_client, wait_call
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer, wait_for

#: echoes what it was sent, with its pid and directory; status and headers from the body
ECHO_PY = """import json, os, sys

print("started", file=sys.stderr, flush=True)
for line in sys.stdin:
    if not line.strip():
        continue
    frame = json.loads(line)
    body = json.loads(frame["body"] or "{}")
    print("a stray stdout line", flush=True)
    print("stderr for", frame["call_id"], file=sys.stderr, flush=True)
    seen = {"frame": frame, "pid": os.getpid(), "cwd": os.getcwd(),
            "format": os.environ.get("FN_FORMAT")}
    answer = {
        "body": json.dumps(seen),
        "content_type": "application/json",
        "protocol": {"status_code": body.get("status", 200),
                     "headers": {"X-Echo": ["yes"]}},
    }
    # pretty-printed over several lines: answers need not be one line
    print(json.dumps(answer, indent=2), flush=True)
"""

GO_JSON = """package main

import (
\t"encoding/json"
\t"os"
)

func main() {
\tin := json.NewDecoder(os.Stdin)
\tout := json.NewEncoder(os.Stdout)
\tfor {
\t\tvar req map[string]interface{}
\t\tif in.Decode(&req) != nil {
\t\t\treturn
\t\t}
\t\tproto := req["protocol"].(map[string]interface{})
\t\tbody, _ := json.Marshal(map[string]interface{}{"method": proto["method"], "body": req["body"]})
\t\tout.Encode(map[string]interface{}{
\t\t\t"body": string(body), "content_type": "application/json",
\t\t\t"protocol": map[string]interface{}{"status_code": 201},
\t\t})
\t}
}
"""

NODE_JSON = """const readline = require('readline');
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const frame = JSON.parse(line);
  const answer = { body: 'node saw ' + frame.body, content_type: 'text/plain',
                   protocol: { status_code: 200, headers: { 'X-Node': ['1'] } } };
  process.stdout.write(JSON.stringify(answer) + '\\n');
});
"""


def deploy(
    client: httpx.Client, app: str, path: str, files: dict[str, str], **fields: Any
) -> dict[str, Any]:
    route = {"path": path, "format": "json", "code": zip_b64(files), **fields}
    answer = client.put(f"/v1/apps/{app}/routes{path}", json={"route": route})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["route"]
    return found


def test_python_json_function(server: SluiceServer) -> None:
    with fn_client(server) as client:
        route = deploy(client, "jsonapp", "/echo", {"func.py": ECHO_PY}, runtime="python")
        assert route["format"] == "json"
        first = client.post("/r/jsonapp/echo?x=1", json={"status": 203}, headers={"X-In": "v"})
        assert first.status_code == 203, first.text
        assert first.headers["content-type"] == "application/json"
        assert first.headers["x-echo"] == "yes"
        seen = first.json()
        frame = seen["frame"]
        call_id = first.headers["fn_call_id"]
        assert frame["call_id"] == call_id
        assert json.loads(frame["body"]) == {"status": 203}
        assert frame["content_type"] == "application/json"
        assert frame["deadline"].endswith("Z")
        protocol = frame["protocol"]
        assert protocol["type"] == "http"
        assert protocol["method"] == "POST"
        assert protocol["request_url"].endswith("/r/jsonapp/echo?x=1")
        assert protocol["headers"]["x-in"] == ["v"]
        assert seen["format"] == "json"
        again = client.post("/r/jsonapp/echo", json={})
        assert again.status_code == 200
        assert again.json()["pid"] == seen["pid"]  # the same warm process
        log = client.get(f"/v1/apps/jsonapp/calls/{call_id}/log", headers={"Accept": "text/plain"})
        assert "a stray stdout line\n" in log.text
        assert f"stderr for {call_id}\n" in log.text


def test_async_json_call_logs_its_answer(server: SluiceServer) -> None:
    with fn_client(server) as client:
        files = {"func.py": ECHO_PY}
        deploy(client, "jsonapp", "/later", files, runtime="python", type="async")
        accepted = client.post("/r/jsonapp/later", json={})
        assert accepted.status_code == 202
        call_id = accepted.json()["call_id"]
        assert wait_call(client, "jsonapp", call_id)["status"] == "success"
        log = client.get(f"/v1/apps/jsonapp/calls/{call_id}/log").json()["log"]["log"]
        assert f'"call_id": "{call_id}"' in log  # the answer's body
        assert f"stderr for {call_id}\n" in log


def test_a_broken_answer_is_an_fn_error(server: SluiceServer) -> None:
    source = "import sys\nfor line in sys.stdin:\n    print('{\"protocol\": 7}', flush=True)\n"
    with fn_client(server) as client:
        deploy(client, "jsonapp", "/broken", {"func.py": source}, runtime="python")
        answer = client.post("/r/jsonapp/broken", json={})
        assert answer.status_code == 502
        message = answer.json()["error"]["message"]
        assert "the answer's protocol is not an object" in message
        exits = "import sys\nsys.stdin.readline()\n"
        deploy(client, "jsonapp", "/exits", {"func.py": exits}, runtime="python")
        gone = client.post("/r/jsonapp/exits", json={})
        assert gone.status_code == 502
        assert "exited (status 0) before it answered" in gone.json()["error"]["message"]


@pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain is missing")
def test_go_json_function(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "jsonapp", "/go", {"func.go": GO_JSON}, runtime="go")
        answer = client.put("/r/jsonapp/go", content=b"raw text")
        assert answer.status_code == 201, answer.text
        assert answer.json() == {"method": "PUT", "body": "raw text"}


def test_node_json_function(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "jsonapp", "/node", {"func.js": NODE_JSON}, runtime="node")
        answer = client.post("/r/jsonapp/node", content=b"hi")
        assert answer.status_code == 200, answer.text
        assert answer.text == "node saw hi"
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.headers["x-node"] == "1"


def test_idle_timeout_stops_the_warm_process(server: SluiceServer) -> None:
    """A route idle_timeout of 1 s: its process goes (its directory with it) once idle."""
    with fn_client(server) as client:
        files = {"func.py": ECHO_PY}
        deploy(client, "jsonapp", "/brief", files, runtime="python", idle_timeout=1)
        deploy(client, "jsonapp", "/lasting", files, runtime="python", idle_timeout=3600)
        brief = Path(client.post("/r/jsonapp/brief", json={}).json()["cwd"])
        lasting = client.post("/r/jsonapp/lasting", json={}).json()
        assert brief.is_dir()
        wait_for(lambda: not brief.exists(), 30, "the idle process to stop")
        again = client.post("/r/jsonapp/lasting", json={}).json()
        assert again["pid"] == lasting["pid"]
        assert os.path.isdir(lasting["cwd"])
