"""/r/ invocation (sync and async), calls with their statuses and times, and call logs."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.dialects.fn.helpers import (
    RFC3339_MS,
    SLEEP_PY,
    ULID,
    deploy,
    fn_client,
    wait_call,
)
from tests.support.server import SluiceServer, wait_for


def test_sync_route_answers_with_the_function_output(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "syncapp", "/greet")
        answer = client.post("/r/syncapp/greet", json={"name": "Ada"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"message": "Hello Ada"}
        assert answer.headers["content-type"] == "application/json"
        assert ULID.match(answer.headers["fn_call_id"])


def test_async_route_answers_202_with_the_call_id_then_logs_the_output(
    server: SluiceServer,
) -> None:
    with fn_client(server) as client:
        deploy(client, "asyncapp", "/asyncfn", type="async")
        answer = client.post("/r/asyncapp/asyncfn", content=b"")
        assert answer.status_code == 202, answer.text
        call_id = answer.json()["call_id"]
        assert answer.json() == {"call_id": call_id}
        assert ULID.match(call_id)
        assert answer.headers["fn_call_id"] == call_id
        call = wait_call(client, "asyncapp", call_id)
        assert call["id"] == call_id
        assert call["status"] == "success"
        assert call["app_name"] == "asyncapp"
        assert call["path"] == "/asyncfn"
        for field in ("created_at", "started_at", "completed_at"):
            assert RFC3339_MS.match(call[field]), call
        assert call["created_at"] <= call["started_at"] <= call["completed_at"]
        log = client.get(f"/v1/apps/asyncapp/calls/{call_id}/log").json()
        assert log["message"] == "Successfully loaded log"
        assert log["log"]["call_id"] == call_id
        assert log["log"]["app_name"] == "asyncapp"
        assert log["log"]["log"] == 'hello from stderr\n{"message": "Hello World"}\n'
        text = client.get(
            f"/v1/apps/asyncapp/calls/{call_id}/log", headers={"Accept": "text/plain"}
        )
        assert text.text == 'hello from stderr\n{"message": "Hello World"}\n'
        refused = client.get(
            f"/v1/apps/asyncapp/calls/{call_id}/log", headers={"Accept": "image/png"}
        )
        assert refused.status_code == 406


def test_any_id_spelling_finds_the_call(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "spell", "/fn", type="async")
        call_id = client.post("/r/spell/fn").json()["call_id"]
        wait_call(client, "spell", call_id)
        state = client.get(f"/sluice/v1/namespaces/_/calls/{call_id}").json()
        for spelling in (state["activationId"], state["uuid"], call_id.lower()):
            found = client.get(f"/v1/apps/spell/calls/{spelling}").json()["call"]
            assert found["id"] == call_id
        other_app = client.get(f"/v1/apps/syncapp/calls/{call_id}")
        assert other_app.status_code == 404
        assert other_app.json() == {"error": {"message": "Call not found"}}


def test_failures_have_fn_statuses(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "fails", "/crash", source="import sys\nsys.exit(2)\n")
        crashed = client.post("/r/fails/crash")
        assert crashed.status_code == 502
        assert crashed.json() == {
            "error": {"message": "function failed: The function exited with status 2."}
        }
        call = client.get(f"/v1/apps/fails/calls/{crashed.headers['fn_call_id']}").json()["call"]
        assert call["status"] == "error"
        assert call["error"] == "The function exited with status 2."
        deploy(client, "fails", "/slow", source=SLEEP_PY, timeout=1)
        slow = client.post("/r/fails/slow", content=b"5")
        assert slow.status_code == 504
        assert slow.json() == {"error": {"message": "Timed out"}}
        call = wait_call(client, "fails", slow.headers["fn_call_id"])
        assert call["status"] == "timeout"
        assert call["error"] == "The action exceeded its time limits of 1000 milliseconds."


def test_calls_list_newest_first_with_filters_and_cursor(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "many", "/a", type="async")
        deploy(client, "many", "/b", type="async")
        ids = [client.post(f"/r/many/{p}").json()["call_id"] for p in ("a", "b", "a")]
        for call_id in ids:
            wait_call(client, "many", call_id)
        listed = client.get("/v1/apps/many/calls").json()
        assert listed["message"] == "Successfully listed calls"
        assert [c["id"] for c in listed["calls"]] == ids[::-1]
        only_a = client.get("/v1/apps/many/calls", params={"path": "/a"}).json()["calls"]
        assert [c["id"] for c in only_a] == [ids[2], ids[0]]
        first = client.get("/v1/apps/many/calls", params={"per_page": 2}).json()
        assert [c["id"] for c in first["calls"]] == [ids[2], ids[1]]
        assert first["next_cursor"] == ids[1]
        rest = client.get(
            "/v1/apps/many/calls", params={"per_page": 2, "cursor": first["next_cursor"]}
        ).json()
        assert [c["id"] for c in rest["calls"]] == [ids[0]]
        assert rest["next_cursor"] == ""
        future = client.get("/v1/apps/many/calls", params={"from_time": 4_000_000_000}).json()
        assert future["calls"] == []
        past = client.get("/v1/apps/many/calls", params={"to_time": 1}).json()
        assert past["calls"] == []
        now = int(time.time())
        window = {"from_time": now - 3600, "to_time": now + 3600, "path": "/b"}
        around = client.get("/v1/apps/many/calls", params=window).json()["calls"]
        assert [c["id"] for c in around] == [ids[1]]
        bad = client.get("/v1/apps/many/calls", params={"from_time": "yesterday"})
        assert bad.status_code == 400
        assert bad.json()["error"]["message"] == "Invalid from_time 'yesterday': use Unix seconds."


def test_a_queued_call_shows_queued_then_runs(new_server: Callable[..., SluiceServer]) -> None:
    server = new_server(SLUICE_NAMESPACE_CONCURRENCY="1").start()
    with fn_client(server) as client:
        deploy(client, "q", "/sleep", source=SLEEP_PY, type="async")
        first = client.post("/r/q/sleep", content=b"3").json()["call_id"]
        second = client.post("/r/q/sleep", content=b"0").json()["call_id"]
        third = client.post("/r/q/sleep", content=b"0").json()["call_id"]

        def running() -> bool:
            state = client.get(f"/v1/apps/q/calls/{first}").json()["call"]["status"]
            return state == "running"

        wait_for(running, 30, "the first call to run")
        queued = client.get(f"/v1/apps/q/calls/{second}").json()["call"]
        assert queued["status"] == "queued"
        assert queued["started_at"] == "0001-01-01T00:00:00.000Z"
        assert queued["completed_at"] == "0001-01-01T00:00:00.000Z"
        log = client.get(f"/v1/apps/q/calls/{second}/log")
        assert log.status_code == 404
        assert log.json() == {"error": {"message": "Call log not found: the call is queued"}}
        cancel = client.delete(f"/v1/apps/q/calls/{third}")
        assert cancel.status_code == 202, cancel.text
        assert cancel.json() == {"message": "Call cancelled", "call_id": third}
        cancelled = client.get(f"/v1/apps/q/calls/{third}").json()["call"]
        assert cancelled["status"] == "cancelled"
        assert cancelled["started_at"] == "0001-01-01T00:00:00.000Z"
        assert RFC3339_MS.match(cancelled["completed_at"])
        assert cancelled["completed_at"] != "0001-01-01T00:00:00.000Z"
        assert cancelled["error"] == "The call was cancelled."
        assert wait_call(client, "q", second)["status"] == "success"
        again = client.delete(f"/v1/apps/q/calls/{second}")
        assert again.status_code == 409
        assert again.json() == {"error": {"message": "The call has ended already (success)."}}


def test_an_fn_call_is_an_openwhisk_activation(server: SluiceServer) -> None:
    with fn_client(server) as fn, server.client() as ow:
        deploy(fn, "owlist", "/fn", type="async")
        call_id = fn.post("/r/owlist/fn").json()["call_id"]
        wait_call(fn, "owlist", call_id)
        state = fn.get(f"/sluice/v1/namespaces/_/calls/{call_id}").json()
        listed = ow.get(server.ns_path("activations"), params={"name": "owlist/fn"}).json()
        assert state["activationId"] in [a["activationId"] for a in listed]
        # and OpenFaaS's status route (the same namespace by default) shows the same call
        faas = ow.get(f"/async-function/{state['uuid']}")
        assert faas.status_code == 200, faas.text
        assert faas.json()["status"] == "success"
