"""Packages: parameters under action parameters, bindings, publish across namespaces."""

from __future__ import annotations

import os
from typing import Any

import pytest
from tests.support.server import SluiceServer, put_action

ECHO = "function main(args) { return args }"

#: who runs it: the process (an id of its own: pids repeat inside the sandbox's pid
#: namespace), every namespace it has served, and the identity the call sees
WHO_JS = """
const instance = require('crypto').randomBytes(8).toString('hex');
const seen = [];
function main() {
  seen.push(process.env.__OW_NAMESPACE);
  return {instance, pid: process.pid, seen,
          namespace: process.env.__OW_NAMESPACE, key: process.env.__OW_API_KEY};
}
"""
WHO_PY = """
import os
INSTANCE = os.urandom(8).hex()
SEEN = []

def main(args):
    SEEN.append(os.environ["__OW_NAMESPACE"])
    return {"instance": INSTANCE, "pid": os.getpid(), "seen": SEEN,
            "namespace": os.environ["__OW_NAMESPACE"], "key": os.environ["__OW_API_KEY"]}
"""


def test_package_parameters_order_and_bindings(server: SluiceServer) -> None:
    with server.client() as c:
        r = c.put(
            server.ns_path("packages/colors"),
            json={"parameters": [{"key": "color", "value": "red"}, {"key": "size", "value": "S"}]},
        )
        assert r.status_code == 200
        assert r.json()["binding"] == {}
        put_action(c, "colors/show", ECHO, parameters=[{"key": "size", "value": "M"}])
        result = c.post(
            server.ns_path("actions/colors/show?blocking=true&result=true"), json={"shape": "o"}
        ).json()
        assert result == {"color": "red", "size": "M", "shape": "o"}
        record = c.post(server.ns_path("actions/colors/show?blocking=true")).json()
        path = next(a for a in record["annotations"] if a["key"] == "path")
        assert path["value"] == "guest/colors/show"

        bound = c.put(
            server.ns_path("packages/blue"),
            json={
                "binding": {"namespace": "guest", "name": "colors"},
                "parameters": [{"key": "color", "value": "blue"}],
            },
        )
        assert bound.status_code == 200
        via_binding = c.post(server.ns_path("actions/blue/show?blocking=true&result=true")).json()
        assert via_binding == {"color": "blue", "size": "M"}

        listed = c.get(server.ns_path("packages")).json()
        kinds = {p["name"]: p["binding"] for p in listed}
        assert kinds["colors"] is False
        assert kinds["blue"] == {
            "namespace": "guest",
            "name": "colors",
        }
        got = c.get("/api/v1/namespaces/_/packages/colors").json()
        assert [a["name"] for a in got["actions"]] == ["show"]

        assert c.delete(server.ns_path("packages/colors")).status_code == 409
        assert (
            "Package not empty (contains 1 entity)"
            in c.delete(server.ns_path("packages/colors")).json()["error"]
        )


def test_published_package_is_read_only_from_other_namespaces(server: SluiceServer) -> None:
    with server.client() as c:
        c.put(server.ns_path("packages/shared"), json={"publish": True})
        put_action(c, "shared/hello", "function main(a) { return {hi: a.name} }")
        c.put(server.ns_path("packages/secret"), json={})
        put_action(c, "secret/hidden", ECHO)
    key = server.admin("namespace", "create", "other-team")
    with server.client(auth=key) as o:
        assert o.get("/api/v1/namespaces/guest/packages/shared").status_code == 200
        r = o.post(
            "/api/v1/namespaces/guest/actions/shared/hello?blocking=true&result=true",
            json={"name": "other"},
        )
        assert r.status_code == 200
        assert r.json() == {"hi": "other"}
        assert o.get("/api/v1/namespaces/guest/packages/secret").status_code == 403
        assert o.post("/api/v1/namespaces/guest/actions/secret/hidden").status_code == 403
        assert (
            o.put("/api/v1/namespaces/guest/packages/shared?overwrite=true", json={}).status_code
            == 403
        )
        assert o.delete("/api/v1/namespaces/guest/actions/shared/hello").status_code == 403
        # the call is the caller's: it shows in their activations, not the owner's
        mine = o.get("/api/v1/namespaces/_/activations").json()
        assert any(a["name"] == "hello" for a in mine)


@pytest.mark.parametrize(("kind", "code"), [("nodejs:20", WHO_JS), ("python:3", WHO_PY)])
def test_a_shared_action_runs_in_a_process_of_the_caller(
    server: SluiceServer, kind: str, code: str
) -> None:
    package = f"tools-{os.urandom(4).hex()}"
    path = f"/api/v1/namespaces/guest/actions/{package}/who?blocking=true&result=true"
    caller = f"caller-{os.urandom(4).hex()}"

    def who(client: Any) -> dict[str, Any]:
        answer = client.post(path)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    with server.client() as owner:
        assert owner.put(server.ns_path(f"packages/{package}"), json={"publish": True}).is_success
        assert put_action(owner, f"{package}/who", code, kind).status_code == 200
        first = who(owner)
    with server.client(auth=server.admin("namespace", "create", caller)) as other:
        theirs = who(other)
    with server.client() as owner:
        again = who(owner)
    # the caller's call ran in a process of its own, which has served nobody else
    assert theirs["instance"] != first["instance"]
    assert theirs["seen"] == [caller]
    assert theirs["namespace"] == caller
    # the owner's warm process served the owner alone
    assert again["instance"] == first["instance"]
    assert again["pid"] == first["pid"]
    assert again["seen"] == ["guest", "guest"]
    assert again["namespace"] == "guest"
    # and each saw its own key: the one of its namespace
    assert theirs["key"] != again["key"]
    with server.client(auth=theirs["key"]) as c:
        assert c.get("/api/v1/namespaces").json() == [caller]
    with server.client(auth=again["key"]) as c:
        assert c.get("/api/v1/namespaces").json() == ["guest"]
