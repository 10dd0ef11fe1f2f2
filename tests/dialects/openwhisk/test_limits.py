"""`GET /namespaces/{ns}/limits`, in upstream's shape, through the openwhisk npm client."""

from __future__ import annotations

import httpx
from tests.support.ow_client import ow_value
from tests.support.server import SluiceServer, put_action


def test_limits_are_the_ones_actions_are_checked_against(server: SluiceServer) -> None:
    limits = ow_value(
        "return ow.namespaces.client.request('GET', 'namespaces/_/limits')",
        apihost=server.url,
        api_key=server.auth,
        namespace="_",
    )
    assert limits["minActionMemory"] <= limits["maxActionMemory"]
    assert limits["maxParameterSize"].endswith(" B")
    assert limits["concurrentInvocations"] == limits["maxActionInstances"]
    with server.client() as c:
        assert c.get(server.ns_path("limits")).json() == limits
        just_over = {"limits": {"memory": limits["maxActionMemory"] + 1}}
        over = c.put(server.ns_path("actions/too-big"), json={"exec": {}, **just_over})
        assert over.status_code == 400
        at_most = c.put(
            server.ns_path("actions/largest"),
            json={
                "exec": {"kind": "nodejs:default", "code": "function main() { return {} }"},
                "limits": {
                    "memory": limits["maxActionMemory"],
                    "timeout": limits["maxActionTimeout"],
                    "logs": limits["maxActionLogs"],
                    "concurrency": limits["maxActionConcurrency"],
                },
            },
        )
        assert at_most.status_code == 200, at_most.text
        for name, low in (("memory", "minActionMemory"), ("timeout", "minActionTimeout")):
            under = {"limits": {name: limits[low] - 1}}
            refused = put_action(c, f"too-small-{name}", "function main() {}", **under)
            assert refused.status_code == 400, name


def test_limits_routes_answer_as_upstream(server: SluiceServer) -> None:
    other = server.admin("namespace", "create", "limits-other")
    with server.client() as c:
        one = c.get(server.ns_path("limits/memory"))
        assert one.status_code == 400
        assert (
            one.json()["error"] == "Inner entity level routes for limits are not yet implemented."
        )
        assert c.put(server.ns_path("limits"), json={}).status_code == 405
        assert c.delete(server.ns_path("limits")).status_code == 405
        assert c.get("/api/v1/namespaces/limits-other/limits").status_code == 403
    with server.client(auth=other) as c:
        assert c.get("/api/v1/namespaces/_/limits").status_code == 200
    assert httpx.get(server.url + server.ns_path("limits")).status_code == 401
