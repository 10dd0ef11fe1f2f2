"""What the fuzzer finds in the server before it starts: an entity of every kind in each
dialect, a call of each, and the values that name them, so that fuzzed requests reach the
handlers' deeper paths (a real action invoked, a real call read) and not only 404s.
`restore` puts every entity back as it was, for each route's fuzz to start alike."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx
from tests.dialects.fn.helpers import GREET_PY
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

#: returns what it was given: the fuzzed parameters come back in the record
ECHO_JS = "function main(args) { return args; }"
#: a web action whose answer is made of its parameters: fuzzed bodies become fuzzed
#: status codes, headers and bodies for the answer path to turn into HTTP (a 5xx asked
#: for is answered 4xx: a function's own 5xx is no failure of the server's)
ANSWER_JS = """
function main(a) {
  let s = a.s === undefined ? 200 : a.s;
  if (typeof s === "number" && s >= 500 && s < 600) s -= 100;
  const answer = {statusCode: s, headers: a.h || {}};
  answer.body = a.b === undefined ? (a.__ow_body || "ok") : a.b;
  if (a.base64 !== undefined) answer.bodyBase64 = a.base64;
  return answer;
}
"""
WEB = {"key": "web-export", "value": True}
#: the seed's OpenWhisk names (each dialect reaches the namespace's actions)
ACTIONS = {
    "fz-echo": (ECHO_JS, []),
    "fz-web": (ANSWER_JS, [WEB]),
    "fz-raw": (ANSWER_JS, [WEB, {"key": "raw-http", "value": True}]),
    "fz-auth": (ANSWER_JS, [WEB, {"key": "require-whisk-auth", "value": True}]),
}
FN_APP = "fzapp"
FN_PATH = "/fz"
FAAS_FUNCTION = "fz-of"


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(key.encode()).decode()


@dataclass
class Seed:
    guest_key: str
    other_key: str
    #: path parameter name -> values that name something real
    known: dict[str, list[str]] = field(default_factory=dict)


def _ok(answer: httpx.Response) -> httpx.Response:
    assert answer.status_code < 300, f"{answer.request.method} {answer.request.url}: {answer.text}"
    return answer


def restore(client: httpx.Client) -> None:
    """Every seed entity, created or put back as first made (idempotent)."""
    ns = "/api/v1/namespaces/_"
    for name, (code, marks) in ACTIONS.items():
        body = {"exec": {"kind": "nodejs:default", "code": code}, "annotations": marks}
        _ok(client.put(f"{ns}/actions/{name}?overwrite=true", json=body))
    _ok(client.put(f"{ns}/packages/fz-pkg?overwrite=true", json={"parameters": []}))
    inner = {"exec": {"kind": "nodejs:default", "code": ECHO_JS}, "annotations": [WEB]}
    _ok(client.put(f"{ns}/actions/fz-pkg/inner?overwrite=true", json=inner))
    _ok(client.put(f"{ns}/triggers/fz-trig?overwrite=true", json={}))
    rule = {"trigger": "/_/fz-trig", "action": "/_/fz-echo"}
    _ok(client.put(f"{ns}/rules/fz-rule?overwrite=true", json=rule))
    _ok(client.post(f"{ns}/rules/fz-rule", json={"status": "active"}))
    if client.get(f"/v1/apps/{FN_APP}").status_code == 404:
        _ok(client.post("/v1/apps", json={"app": {"name": FN_APP}}))
    route = {"path": FN_PATH, "runtime": "python", "code": zip_b64({"func.py": GREET_PY})}
    _ok(client.put(f"/v1/apps/{FN_APP}/routes{FN_PATH}", json={"route": route}))
    deployment = {"service": FAAS_FUNCTION, "envProcess": "cat", "image": "fz/of:1"}
    method = "PUT" if client.get(f"/system/function/{FAAS_FUNCTION}").status_code == 200 else "POST"
    _ok(client.request(method, "/system/functions", json=deployment))


def _calls(client: httpx.Client) -> dict[str, list[str]]:
    """One finished call in each dialect, named as each names calls."""
    done: dict[str, Any] = _ok(
        client.post("/api/v1/namespaces/_/actions/fz-echo?blocking=true", json={"n": 1})
    ).json()
    fn = _ok(client.post(f"/r/{FN_APP}{FN_PATH}", json={"name": "fz"}))
    faas = _ok(client.post(f"/async-function/{FAAS_FUNCTION}", content=b"fz"))
    return {
        "id": [done["activationId"], faas.headers["x-call-id"]],
        "call": [fn.headers["fn_call_id"]],
        "faas_call": [faas.headers["x-call-id"]],
    }


def plant(server: SluiceServer) -> Seed:
    """Create the seed (and a second namespace, to be refused) on `server`."""
    other = server.admin("namespace", "create", "fz-other").split()[-1]
    with server.client() as client:
        restore(client)
        calls = _calls(client)
    known = {
        "ns": ["_", server.namespace, "fz-other", "whisk.system"],
        "name": [
            *[*ACTIONS, "fz-pkg/inner", "fz-pkg", "fz-trig", "fz-rule", FAAS_FUNCTION],
            *["alarms/alarm", "alarms/once", "alarms/interval", "alarms"],
        ],
        "pkg": ["default", "fz-pkg"],
        "rest": ["fz-web", "fz-web.json", "fz-web.http/a/b", "fz-raw.text", "fz-auth", "inner"],
        "app": [FN_APP],
        "path": [FN_PATH[1:], "a/b"],
        "id": calls["id"],
        "call": calls["call"],
    }
    known["name"] += calls["faas_call"]
    return Seed(server.auth, other, known)
