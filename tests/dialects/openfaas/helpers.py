"""OpenFaaS helpers for tests: functions made from actions, status reads with a deadline."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
from tests.support.cli import sluice
from tests.support.server import SluiceServer, put_action

from sluice.records import TERMINAL_STATES

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

#: answers with what it was sent, as a web action's http answer
ECHO_JS = """
function main(args) {
  return {
    statusCode: 200,
    headers: {"content-type": "application/json", "x-echo": "yes"},
    body: {method: args.__ow_method, path: args.__ow_path, headers: args.__ow_headers,
           name: args.name || null, text: args.__ow_body || null},
  };
}
"""

SLEEP_JS = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms || 0}), args.ms || 0));
}
"""


#: what makes an action of another dialect an OpenFaaS function, open to invoke without a key
OPENFAAS_ANNOTATION = {"key": "openfaas", "value": True}


def open_client(server: SluiceServer) -> httpx.Client:
    """A client without credentials: it may invoke OpenFaaS functions (by default), and
    nothing else; reading or cancelling calls takes `server.client()`, with the key."""
    return httpx.Client(base_url=server.url, timeout=90)


def deploy_dir(server: SluiceServer, name: str, folder: Path) -> None:
    """`sluice function deploy NAME --dir FOLDER`, replacing what an earlier run left."""
    sluice(server, "function", "remove", name, ok=False)
    sluice(server, "function", "deploy", name, "--dir", str(folder))


def died_saying(server: SluiceServer, name: str) -> str:
    """The 500 a call of function `name` answers when its server dies before listening."""
    with open_client(server) as anyone:
        answer = anyone.post(f"/function/{name}", content=b"x")
    assert answer.status_code == 500, answer.text
    assert "before listening" in answer.text
    return answer.text


def make_function(server: SluiceServer, name: str, code: str, **fields: Any) -> None:
    """An action annotated as an OpenFaaS function."""
    fields["annotations"] = [*fields.get("annotations", []), OPENFAAS_ANNOTATION]
    with server.client() as client:
        made = put_action(client, name, code, **fields)
        assert made.status_code == 200, made.text


def owner_status(server: SluiceServer, call_id: str) -> dict[str, Any]:
    """A call's status read with the namespace's key, as its owner sees it: with the
    callback's state."""
    with server.client() as owner:
        answer = owner.get(f"/async-function/{call_id}")
    assert answer.status_code == 200, answer.text
    status: dict[str, Any] = answer.json()
    return status


def wait_status(client: httpx.Client, call_id: str, timeout: float = 60) -> dict[str, Any]:
    """GET /async-function/{id} with a long poll until the call has ended (`client` has the
    key: a call's status is its owner's)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"call {call_id} did not end within {timeout} s")
        answer = client.get(f"/async-function/{call_id}", params={"wait": min(left, 30)})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] in TERMINAL_STATES:
            return body
