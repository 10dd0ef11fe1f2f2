"""Fn's v2 API beside v1 on the same engine: apps, fns and triggers by id, /invoke (sync and
detached) and /t, v2's flat error shape, and a v2 function's calls seen through v1."""

from __future__ import annotations

import httpx
from tests.dialects.fn.helpers import RFC3339_MS, deploy, fn_client, v2_app, v2_fn, wait_call
from tests.support.server import SluiceServer


def test_apps_by_id_with_pages(server: SluiceServer) -> None:
    with fn_client(server) as client:
        made = v2_app(client, "v2life", config={"A": "1"}, annotations={"team": "blue"})
        assert set(made) == {
            "id",
            "name",
            "config",
            "annotations",
            "shape",
            "created_at",
            "updated_at",
        }
        assert made["shape"] == "GENERIC_X86"
        assert made["name"] == "v2life"
        assert made["annotations"] == {"team": "blue"}
        assert RFC3339_MS.match(made["created_at"])
        assert RFC3339_MS.match(made["updated_at"])
        app_id = made["id"]
        assert client.get(f"/v2/apps/{app_id}").json() == made
        # the same app through v1, by name
        assert client.get("/v1/apps/v2life").json()["app"]["config"] == {"A": "1"}
        again = client.post("/v2/apps", json={"name": "v2life"})
        assert (again.status_code, again.json()) == (409, {"message": "App already exists"})
        put = client.put(f"/v2/apps/{app_id}", json={"config": {"B": "2", "A": ""}})
        assert put.status_code == 200, put.text
        assert put.json()["config"] == {"B": "2"}
        renamed = client.put(f"/v2/apps/{app_id}", json={"name": "other"})
        assert renamed.status_code == 409
        assert renamed.json() == {"message": "Could not update - name is immutable"}
        by_name = client.get("/v2/apps", params={"name": "v2life"}).json()
        assert [a["id"] for a in by_name["items"]] == [app_id]
        for name in ("v2pagea", "v2pageb"):
            v2_app(client, name)
        seen, cursor = [], ""
        while True:
            page = client.get("/v2/apps", params={"per_page": 1, "cursor": cursor}).json()
            assert len(page["items"]) <= 1
            seen += [a["name"] for a in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert {"v2life", "v2pagea", "v2pageb"} <= set(seen)
        assert seen == sorted(seen)
        deleted = client.delete(f"/v2/apps/{app_id}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        gone = client.get(f"/v2/apps/{app_id}")
        assert (gone.status_code, gone.json()) == (404, {"message": "App not found"})


def test_fn_invoke_sync_and_detached(server: SluiceServer) -> None:
    with fn_client(server) as client:
        app = v2_app(client, "v2fns")
        made = v2_fn(client, app["id"], "greet", config={"GREETING": "hey"})
        assert made["app_id"] == app["id"]
        assert (made["memory"], made["timeout"], made["idle_timeout"]) == (128, 30, 30)
        endpoint = made["annotations"]["fnproject.io/fn/invokeEndpoint"]
        assert endpoint == f"{server.url}/invoke/{made['id']}"
        dupe = client.post("/v2/fns", json={"name": "greet", "app_id": app["id"], "image": "x"})
        assert dupe.status_code == 409
        assert dupe.json() == {"message": "Fn with specified name already exists"}
        listed = client.get("/v2/fns", params={"app_id": app["id"]}).json()
        assert [f["id"] for f in listed["items"]] == [made["id"]]
        assert listed["next_cursor"] == ""
        answer = client.post(endpoint, json={"name": "Ada"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"hi": "Ada", "fn": "greet", "method": "POST", "greeting": "hey"}
        call_id = answer.headers["fn-call-id"]
        # the same function is v1's route /greet, its call one of the app's calls
        assert client.get("/v1/apps/v2fns/routes/greet").json()["route"]["format"] == "http-stream"
        assert wait_call(client, "v2fns", call_id)["path"] == "/greet"
        with server.client() as openwhisk:  # and an activation of the action v2fns/greet
            activation = openwhisk.get(f"/api/v1/namespaces/_/activations/{call_id}")
        assert activation.status_code == 200, activation.text
        assert activation.json()["name"] == "greet"
        assert activation.json()["response"]["success"] is True
        detached = client.post(
            endpoint, json={"name": "Bo"}, headers={"Fn-Invoke-Type": "detached"}
        )
        assert (detached.status_code, detached.content) == (202, b"")
        later = wait_call(client, "v2fns", detached.headers["fn-call-id"])
        assert later["status"] == "success"
        # and the function's own calls, as Fn 0.3.562 served them
        calls = client.get(f"/v2/fns/{made['id']}/calls").json()
        assert [c["id"] for c in calls["items"]] == [later["id"], call_id]
        one = client.get(f"/v2/fns/{made['id']}/calls/{call_id}").json()
        assert one["message"] == "Successfully loaded call"
        assert (one["call"]["fn_id"], one["call"]["status"]) == (made["id"], "success")
        log = client.get(f"/v2/fns/{made['id']}/calls/{call_id}/log")
        assert log.json()["log"]["call_id"] == call_id
        other = v2_fn(client, app["id"], "other")
        elsewhere = client.get(f"/v2/fns/{other['id']}/calls/{call_id}")
        assert (elsewhere.status_code, elsewhere.json()) == (404, {"message": "Call not found"})
        failed = client.post(endpoint, json={"fail": True})
        assert failed.status_code == 502
        assert failed.json() == {"message": "function failed: asked to fail"}
        put = client.put(f"/v2/fns/{made['id']}", json={"memory": 256, "config": {"GREETING": ""}})
        assert put.status_code == 200, put.text
        assert (put.json()["memory"], put.json()["config"]) == (256, {})
        assert client.post(endpoint, json={}).json()["greeting"] is None
        assert client.delete(f"/v2/fns/{made['id']}").status_code == 204
        gone = client.post(endpoint, json={})
        assert (gone.status_code, gone.json()) == (404, {"message": "Fn not found"})


def test_triggers_answer_at_t(server: SluiceServer) -> None:
    with fn_client(server) as client:
        app = v2_app(client, "v2trig")
        made = v2_fn(client, app["id"], "hook")
        body = {"name": "hook", "app_id": app["id"], "fn_id": made["id"], "type": "http"}
        trigger = client.post("/v2/triggers", json={**body, "source": "/hooks/in"})
        assert trigger.status_code == 200, trigger.text
        found = trigger.json()
        endpoint = found["annotations"]["fnproject.io/trigger/httpEndpoint"]
        assert endpoint == f"{server.url}/t/v2trig/hooks/in"
        assert (found["fn_id"], found["source"], found["type"]) == (made["id"], "/hooks/in", "http")
        assert client.get(f"/v2/triggers/{found['id']}").json() == found
        clash = client.post("/v2/triggers", json={**body, "name": "other", "source": "/hooks/in"})
        assert clash.status_code == 409
        assert clash.json() == {
            "message": "Trigger with the same type and source exists on this app"
        }
        called = client.get(endpoint)
        assert called.status_code == 200, called.text
        assert called.json()["method"] == "GET"
        assert called.headers["fn-call-id"]
        listed = client.get("/v2/triggers", params={"app_id": app["id"], "fn_id": made["id"]})
        assert [t["id"] for t in listed.json()["items"]] == [found["id"]]
        no_app = client.get("/v2/triggers")
        assert (no_app.status_code, no_app.json()) == (
            400,
            {"message": "Missing App ID on Trigger"},
        )
        moved = client.put(f"/v2/triggers/{found['id']}", json={"source": "/hooks/new"})
        assert moved.status_code == 200, moved.text
        assert client.get(endpoint).status_code == 404
        assert client.post(f"{server.url}/t/v2trig/hooks/new", json={}).status_code == 200
        assert client.delete(f"/v2/triggers/{found['id']}").status_code == 204
        gone = client.get(f"{server.url}/t/v2trig/hooks/new")
        assert (gone.status_code, gone.json()) == (404, {"message": "Trigger not found"})


def test_empty_strings_in_a_put_keep_what_is_there(server: SluiceServer) -> None:
    """Fn's Update methods skip an empty image or source, as schemathesis's bodies send."""
    with fn_client(server) as client:
        app = v2_app(client, "v2keep")
        made = v2_fn(client, app["id"], "kept")
        put = client.put(f"/v2/fns/{made['id']}", json={"name": "", "image": "", "memory": 0})
        assert put.status_code == 200, put.text
        assert (put.json()["image"], put.json()["memory"]) == ("kept:0.0.1", made["memory"])
        assert client.get(f"/v2/fns/{made['id']}").json()["image"] == "kept:0.0.1"
        body = {"name": "kept", "app_id": app["id"], "fn_id": made["id"], "type": "http"}
        trigger = client.post("/v2/triggers", json={**body, "source": "/kept"}).json()
        moved = client.put(f"/v2/triggers/{trigger['id']}", json={"name": "", "source": ""})
        assert moved.status_code == 200, moved.text
        assert moved.json()["source"] == "/kept"
        bad = client.put(f"/v2/triggers/{trigger['id']}", json={"source": "kept"})
        assert (bad.status_code, bad.json()) == (
            400,
            {"message": "Missing Trigger Source Prefix '/'"},
        )


def test_v1_routes_are_v2_fns(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "v1both", "/old")
        app_id = client.get("/v2/apps", params={"name": "v1both"}).json()["items"][0]["id"]
        fns = client.get("/v2/fns", params={"app_id": app_id}).json()["items"]
        assert [f["name"] for f in fns] == ["old"]
        assert client.get(f"/v2/fns/{fns[0]['id']}").json()["image"] == "old:0.0.1"
        # without app_id: every app's functions, as Fn lists them
        every = client.get("/v2/fns", params={"name": "old"}).json()["items"]
        assert fns[0]["id"] in [f["id"] for f in every]


def test_bad_input_gets_v2_errors(server: SluiceServer) -> None:
    with fn_client(server) as client:
        app = v2_app(client, "v2bad")
        cases = [
            (client.post("/v2/apps", json={}), 400, "Missing app name"),
            (client.post("/v2/apps", json={"name": "x", "id": "y"}), 400, None),
            (client.post("/v2/fns", json={"name": "f", "image": "i"}), 400, "Missing AppID on Fn"),
            (client.post("/v2/fns", json={"name": "a/b", "app_id": app["id"]}), 400, None),
            (client.get("/v2/fns", params={"cursor": "%%%"}), 400, None),
            (client.get("/v2/fns/NOTANID"), 404, "Fn not found"),
            (client.get("/v2/apps/U"), 404, "App not found"),
            (client.get("/v2/triggers/00"), 404, "Trigger not found"),
            (client.post("/v2/fns", content=b"{nope"), 400, None),
            (client.put(f"/v2/apps/{app['id']}"), 400, "Invalid JSON"),
            (client.put(f"/v2/apps/{app['id']}", json={"shape": "Z"}), 400, "Invalid app shape"),
            (client.get("/v2/nothing"), 404, "Not found"),
            (client.get("/invoke/x"), 405, None),
        ]
        for answer, status, message in cases:
            assert answer.status_code == status, (answer.request.url, answer.text)
            body = answer.json()
            assert set(body) == {"message"}, body
            if message is not None:
                assert body["message"] == message


def test_version_is_the_fn_release_with_v1_and_v2(server: SluiceServer) -> None:
    answer = httpx.get(f"{server.url}/version")
    assert answer.json() == {"version": "0.3.562"}
