"""/whisk.system/utils and /whisk.system/samples: listed, read, invoked by their fully
qualified names and bound from any namespace, through the real openwhisk npm client and aio."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.support.aio import AioCli, node_tools_dir
from tests.support.ow_client import ow_value
from tests.support.server import SluiceServer

INVOKE = (
    "return ow.actions.invoke({name: args.name, blocking: true, result: true, params: args.params})"
)


def _ow(
    server: SluiceServer, body: str, auth: str | None = None, namespace: str = "_", **args: Any
) -> Any:
    return ow_value(
        body, apihost=server.url, api_key=auth or server.auth, namespace=namespace, args=args
    )


def _invoke(
    server: SluiceServer, name: str, params: dict[str, Any], auth: str | None = None
) -> Any:
    return _ow(server, INVOKE, auth, name=name, params=params)


def _refused(
    server: SluiceServer, name: str, params: dict[str, Any], auth: str | None = None
) -> Any:
    """The result of a call that ended as an application error (the client rejects it)."""
    body = (
        "return ow.actions.invoke({name: args.name, blocking: true, params: args.params})"
        ".then(() => 'ran', (e) => e.error.response.result)"
    )
    return _ow(server, body, auth, name=name, params=params)


@pytest.fixture
def aio(server: SluiceServer, tmp_path: Path) -> AioCli:
    return AioCli(node_tools_dir(), server.url, server.namespace, server.auth, tmp_path / "home")


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("utils/echo", {"payload": "Five fuzzy felines"}, {"payload": "Five fuzzy felines"}),
        ("utils/cat", {"lines": [4, 2, 3]}, {"lines": [4, 2, 3], "payload": "4\n2\n3"}),
        ("utils/sort", {"lines": ["b", "c", "a"]}, {"lines": ["a", "b", "c"], "length": 3}),
        ("utils/sort", {"lines": [10, 9, 1]}, {"lines": [1, 10, 9], "length": 3}),
        ("utils/head", {"lines": [4, 2, 3], "num": 2}, {"lines": [4, 2], "num": 2}),
        ("utils/head", {"lines": [4, 2, 3]}, {"lines": [4], "num": 1}),
        (
            "utils/split",
            {"payload": "one,two,three", "separator": ","},
            {"lines": ["one", "two", "three"], "payload": "one,two,three"},
        ),
        (
            "utils/split",
            {"payload": "a\r\nb\nc"},
            {"lines": ["a", "b", "c"], "payload": "a\r\nb\nc"},
        ),
        (
            "samples/greeting",
            {"payload": "Cat", "place": "Narrowsburg"},
            {"payload": "Hello, Cat from Narrowsburg!"},
        ),
        ("samples/greeting", {}, {"payload": "Hello, stranger from somewhere!"}),
        ("samples/wordCount", {"payload": "Five fuzzy felines"}, {"count": 3}),
        ("samples/helloWorld", {"payload": "Cat"}, {}),
    ],
)
def test_each_stock_action_answers_as_the_catalog_defines(
    server: SluiceServer, name: str, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert _invoke(server, f"/whisk.system/{name}", params) == expected


def test_date_namespace_and_hosturl_are_the_callers(server: SluiceServer) -> None:
    caller = f"stock-{os.urandom(4).hex()}"
    key = server.admin("namespace", "create", caller)
    date = _invoke(server, "/whisk.system/utils/date", {}, key)
    stamp = datetime.fromisoformat(date["date"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert _invoke(server, "/whisk.system/utils/namespace", {}, key) == {"namespace": caller}
    web = _invoke(server, "/whisk.system/utils/hosturl", {"web": True, "path": "hello"}, key)
    assert web["url"].endswith(f"/api/v1/web/{caller}/default/hello")
    posted = _invoke(server, "/whisk.system/utils/hosturl", {"path": "pkg/act"}, key)
    assert posted["url"].endswith(f"/api/v1/namespaces/{caller}/actions/pkg/act")
    trigger = _invoke(server, "/whisk.system/utils/hosturl", {"trigger": True, "path": "t"}, key)
    assert trigger["url"].endswith(f"/api/v1/namespaces/{caller}/triggers/t")
    refused = _refused(server, "/whisk.system/utils/hosturl", {"web": True, "trigger": True}, key)
    assert refused == {"error": "triggers are not allowed for web actions."}
    # the call is the caller's: recorded in its activations, and the owner is named in `path`
    with server.client(auth=key) as c:
        listed = c.get("/api/v1/namespaces/_/activations", params={"limit": 50}).json()
    paths = {a["name"]: a["annotations"][0]["value"] for a in listed}
    assert paths["namespace"] == "whisk.system/utils/namespace"


def test_curl_fetches_what_the_function_may_reach(server: SluiceServer) -> None:
    answer = _invoke(server, "/whisk.system/samples/curl", {"payload": server.url})
    assert '"api_paths":["/api/v1"]' in answer["msg"]  # what GET / answers
    # a missing payload is the caller's mistake, said as a result
    missing = _refused(server, "/whisk.system/samples/curl", {})
    assert missing == {"error": "The parameter 'payload' is required."}


def test_whisk_system_lists_public_packages_only(server: SluiceServer) -> None:
    names = _ow(
        server, "return (await ow.packages.list({namespace: 'whisk.system'})).map(p => p.name)"
    )
    assert {"alarms", "utils", "samples"} <= set(names)
    count = _ow(server, "return ow.packages.list({namespace: 'whisk.system', count: true})")
    assert count == {"packages": len(names)}
    # another namespace sees a namespace's published packages, not its private ones or bindings
    owner = f"lister-{os.urandom(4).hex()}"
    owner_key = server.admin("namespace", "create", owner)
    with server.client(auth=owner_key) as c:
        assert c.put("/api/v1/namespaces/_/packages/open", json={"publish": True}).is_success
        assert c.put("/api/v1/namespaces/_/packages/closed", json={}).is_success
        bound = {"binding": {"namespace": owner, "name": "open"}, "publish": True}
        assert c.put("/api/v1/namespaces/_/packages/bound", json=bound).is_success
        assert {p["name"] for p in c.get("/api/v1/namespaces/_/packages").json()} == {
            "open",
            "closed",
            "bound",
        }
    with server.client() as c:
        seen = c.get(f"/api/v1/namespaces/{owner}/packages")
        assert seen.status_code == 200
        assert [p["name"] for p in seen.json()] == ["open"]
        assert seen.json()[0]["binding"] is False
        # actions of another namespace are still not listable, and stock ones not writable
        assert c.get("/api/v1/namespaces/whisk.system/actions").status_code == 403
        put = c.put("/api/v1/namespaces/whisk.system/actions/utils/sort?overwrite=true", json={})
        assert put.status_code == 403
        assert set(put.json()) == {"error", "code"}


def test_utils_reads_with_its_actions_and_their_annotations(server: SluiceServer) -> None:
    got = _ow(server, "return ow.packages.get({name: '/whisk.system/utils'})")
    assert got["publish"] is True
    actions = {a["name"]: a for a in got["actions"]}
    assert set(actions) == {"echo", "cat", "sort", "head", "split", "date", "namespace", "hosturl"}
    notes = {n["key"]: n["value"] for n in actions["sort"]["annotations"]}
    assert notes["description"] == "Sorts an array"
    assert notes["parameters"][0]["name"] == "lines"
    action = _ow(server, "return ow.actions.get({name: '/whisk.system/utils/sort'})")
    assert action["namespace"] == "whisk.system/utils"
    assert action["exec"]["kind"].startswith("nodejs:")
    assert "function main" in action["exec"]["code"]
    samples = _ow(server, "return ow.packages.get({name: '/whisk.system/samples'})")
    assert {a["name"] for a in samples["actions"]} == {
        "greeting",
        "wordCount",
        "helloWorld",
        "curl",
    }


def test_aio_binds_utils_and_invokes_through_the_binding(server: SluiceServer, aio: AioCli) -> None:
    bound = f"myutils{os.urandom(3).hex()}"
    aio.run_ok("rt:package:bind", "/whisk.system/utils", bound, "-p", "lines", '["z","y"]')
    got = aio.run_json("rt:action:invoke", f"{bound}/sort", "-r")
    assert got == {"lines": ["y", "z"], "length": 2}
    assert aio.run_json("rt:action:invoke", f"{bound}/namespace", "-r") == {"namespace": "guest"}
    listed = aio.run_json("rt:package:list", "whisk.system", "--json")
    assert {"utils", "samples", "alarms"} <= {p["name"] for p in listed}
    actions = aio.run_json("rt:action:list", "/whisk.system/samples", "--json")
    assert {a["name"] for a in actions} == {"greeting", "wordCount", "helloWorld", "curl"}
    assert {a["namespace"] for a in actions} == {"whisk.system/samples"}
    assert aio.run_json("rt:action:list", bound, "--json") == []  # a binding holds none


def test_a_packages_actions_are_listed_to_whoever_may_read_it(server: SluiceServer) -> None:
    owner = f"pkgs-{os.urandom(4).hex()}"
    key = server.admin("namespace", "create", owner)
    code = {"exec": {"kind": "nodejs:default", "code": "function main() { return {} }"}}
    with server.client(auth=key) as c:
        for package, shared in (("open", True), ("closed", False)):
            made = c.put(f"/api/v1/namespaces/_/packages/{package}", json={"publish": shared})
            assert made.status_code == 200
            for name in ("a", "b", "c"):
                made = c.put(f"/api/v1/namespaces/_/actions/{package}/{name}", json=code)
                assert made.status_code == 200
        mine = c.get("/api/v1/namespaces/_/actions/closed/", params={"limit": 2}).json()
        assert len(mine) == 2
        assert {a["namespace"] for a in mine} == {f"{owner}/closed"}
    with server.client() as c:
        theirs = c.get(f"/api/v1/namespaces/{owner}/actions/open/")
        assert sorted(a["name"] for a in theirs.json()) == ["a", "b", "c"]
        count = c.get(f"/api/v1/namespaces/{owner}/actions/open/", params={"count": "true"})
        assert count.json() == {"actions": 3}
        assert c.get(f"/api/v1/namespaces/{owner}/actions/closed/").status_code == 403
        assert c.get(f"/api/v1/namespaces/{owner}/actions/none/").status_code == 404


def test_reinstall_keeps_unchanged_actions(new_server: Callable[..., SluiceServer]) -> None:
    server = new_server().start()
    with server.client() as c:
        first = c.get("/api/v1/namespaces/whisk.system/actions/utils/echo").json()
    server.stop()
    server.start()
    with server.client() as c:
        again = c.get("/api/v1/namespaces/whisk.system/actions/utils/echo").json()
    assert (again["version"], again["updated"]) == (first["version"], first["updated"])
