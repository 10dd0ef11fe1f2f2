"""Fn's v1 apps and routes over packages and actions, with Fn's error shape."""

from __future__ import annotations

from tests.dialects.fn.helpers import RFC3339_MS, deploy, fn_client
from tests.support.server import SluiceServer


def test_app_lifecycle(server: SluiceServer) -> None:
    with fn_client(server) as client:
        created = client.post("/v1/apps", json={"app": {"name": "life", "config": {"A": "1"}}})
        assert created.status_code == 200, created.text
        assert created.json()["message"] == "App successfully created"
        app = created.json()["app"]
        assert app["name"] == "life"
        assert app["config"] == {"A": "1"}
        assert RFC3339_MS.match(app["created_at"])
        again = client.post("/v1/apps", json={"app": {"name": "life"}})
        assert again.status_code == 409
        assert again.json() == {"error": {"message": "App already exists"}}
        patched = client.patch("/v1/apps/life", json={"app": {"config": {"B": "2", "A": ""}}})
        assert patched.json()["app"]["config"] == {"B": "2"}
        listed = client.get("/v1/apps").json()
        assert "life" in [a["name"] for a in listed["apps"]]
        assert client.delete("/v1/apps/life").json() == {"message": "App deleted"}
        gone = client.get("/v1/apps/life")
        assert gone.status_code == 404
        assert gone.json() == {"error": {"message": "App not found"}}


def test_route_put_get_list_delete(server: SluiceServer) -> None:
    with fn_client(server) as client:
        route = deploy(client, "routes", "/hello", type="async", timeout=60, config={"K": "v"})
        assert route["path"] == "/hello"
        assert route["type"] == "async"
        assert route["format"] == "default"
        assert route["memory"] == 128
        assert route["timeout"] == 60
        assert route["config"] == {"K": "v"}
        assert route["cmd"] == "python3 func.py"
        assert client.get("/v1/apps/routes").status_code == 200  # PUT made the app
        loaded = client.get("/v1/apps/routes/routes/hello").json()
        assert loaded["message"] == "Successfully loaded route"
        assert loaded["route"]["image"] == "hello:0.0.1"
        patched = client.patch("/v1/apps/routes/routes/hello", json={"route": {"type": "sync"}})
        assert patched.json()["route"]["type"] == "sync"
        assert patched.json()["route"]["config"] == {"K": "v"}
        listed = client.get("/v1/apps/routes/routes").json()["routes"]
        assert [r["path"] for r in listed] == ["/hello"]
        assert client.delete("/v1/apps/routes/routes/hello").json() == {"message": "Route deleted"}
        gone = client.get("/v1/apps/routes/routes/hello")
        assert gone.json() == {"error": {"message": "Route not found"}}


def test_post_route_conflicts_and_patch_needs_a_route(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "twice", "/fn")
        again = client.post("/v1/apps/twice/routes", json={"route": {"path": "/fn"}})
        assert again.status_code == 409
        assert again.json() == {"error": {"message": "Route already exists"}}
        missing = client.patch("/v1/apps/twice/routes/nope", json={"route": {"memory": 256}})
        assert missing.status_code == 404
        assert missing.json() == {"error": {"message": "Route not found"}}


def test_a_route_is_an_action_in_the_app_package(server: SluiceServer) -> None:
    with fn_client(server) as fn, server.client() as ow:
        deploy(fn, "seen", "/by-openwhisk")
        action = ow.get(server.ns_path("actions/seen/by-openwhisk")).json()
        assert action["exec"]["kind"] == "fn:default"
        assert ow.get(server.ns_path("packages/seen")).status_code == 200


def test_bad_input_gets_fn_errors(server: SluiceServer) -> None:
    with fn_client(server) as client:
        cases = [
            (client.post("/v1/apps", content=b"{nope"), 400),
            (client.post("/v1/apps", json={"name": "x"}), 400),
            (client.post("/v1/apps", json={"app": {"name": "bad name!"}}), 400),
            (client.put("/v1/apps/a/routes/x", json={"route": {"type": "later"}}), 400),
            (client.put("/v1/apps/a/routes/x", json={"route": {"memory": "lots"}}), 400),
            (client.put("/v1/apps/a/routes/x:y", json={"route": {}}), 400),
            (client.put("/v1/apps/a/routes/x", json={"route": {"image": "img:1"}}), 400),
            (client.put("/v1/apps/a/routes/x", json={"route": {"code": "abc"}}), 400),
            (client.get("/v1/apps/nope/calls/not-an-id"), 400),
            (client.get("/v1/nothing/here"), 404),
            (client.delete("/v1/apps"), 405),
            (client.get("/r/nope/none"), 404),
        ]
        for answer, status in cases:
            assert answer.status_code == status, (answer.request.url, answer.text)
            assert set(answer.json()) == {"error"}, answer.text
            assert answer.json()["error"]["message"], answer.text


def test_keys_are_required(server: SluiceServer) -> None:
    with fn_client(server) as client:
        answer = client.get("/v1/apps", headers={"Authorization": ""})
    assert answer.status_code == 401
    assert "error" in answer.json()
    assert "message" in answer.json()["error"]


def test_version(server: SluiceServer) -> None:
    with fn_client(server) as client:
        assert client.get("/version").json()["version"].startswith("0.3.")
