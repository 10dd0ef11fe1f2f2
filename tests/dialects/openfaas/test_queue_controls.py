"""Delayed calls (X-Delay-Seconds, X-Run-At) and cancelling calls: one queued or running,
or all the queued calls of a function."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from tests.dialects.openfaas.helpers import SLEEP_JS, make_function, open_client, wait_status
from tests.support.listener import Listener
from tests.support.server import SluiceServer, wait_for

from sluice.timing import rfc3339_ms


def _ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_delayed_call_waits_in_the_queue(server: SluiceServer) -> None:
    make_function(server, "of-sleep", SLEEP_JS)
    with server.client() as client:
        answer = client.post(
            "/async-function/of-sleep", json={"ms": 1}, headers={"X-Delay-Seconds": "1.5"}
        )
        assert answer.status_code == 202, answer.text
        call_id = answer.headers["x-call-id"]
        assert client.get(f"/async-function/{call_id}").json()["status"] == "queued"
        done = wait_status(client, call_id)
    assert done["status"] == "success"
    assert _ms(done["startedAt"]) - _ms(done["createdAt"]) >= 1500


def test_a_call_may_name_its_run_time(server: SluiceServer) -> None:
    make_function(server, "of-sleep", SLEEP_JS)
    at = datetime.now(UTC) + timedelta(seconds=1)
    stamp = rfc3339_ms(round(at.timestamp() * 1000))
    with server.client() as client:
        answer = client.post(
            "/async-function/of-sleep", json={"ms": 1}, headers={"X-Run-At": stamp}
        )
        assert answer.status_code == 202, answer.text
        done = wait_status(client, answer.headers["x-call-id"])
    assert _ms(done["startedAt"]) >= _ms(stamp)


def test_bad_delays_are_400(server: SluiceServer) -> None:
    make_function(server, "of-sleep", SLEEP_JS)
    cases = [
        {"X-Delay-Seconds": "soon"},
        {"X-Delay-Seconds": "-1"},
        {"X-Run-At": "tomorrow"},
        {"X-Run-At": "2030-01-01T00:00:00"},
        {"X-Delay-Seconds": "1", "X-Run-At": "1999999999"},
    ]
    with open_client(server) as client:
        for headers in cases:
            answer = client.post("/async-function/of-sleep", headers=headers)
            assert answer.status_code == 400, headers
            assert answer.headers["content-type"].startswith("text/plain")


def test_cancel_a_queued_call_and_its_callback_says_so(server: SluiceServer) -> None:
    make_function(server, "of-sleep", SLEEP_JS)
    with Listener() as listener, server.client() as client:
        answer = client.post(
            "/async-function/of-sleep",
            json={"ms": 1},
            headers={"X-Delay-Seconds": "600", "X-Callback-Url": listener.url},
        )
        call_id = answer.headers["x-call-id"]
        cancelled = client.delete(f"/async-function/{call_id}")
        assert cancelled.status_code == 202, cancelled.text
        status = client.get(f"/async-function/{call_id}").json()
        (got,) = listener.wait(1)
        again = client.delete(f"/async-function/{call_id}")
    assert status["status"] == "cancelled"
    assert status["functionStatus"] == 410
    assert got.headers["x-sluice-call-status"] == "cancelled"
    assert got.headers["x-function-status"] == "410"
    assert again.status_code == 409
    assert "ended already" in again.text


def test_cancel_a_running_call(server: SluiceServer) -> None:
    make_function(server, "of-sleep", SLEEP_JS)
    with server.client() as client:
        answer = client.post("/async-function/of-sleep", json={"ms": 60000})
        call_id = answer.headers["x-call-id"]
        wait_for(
            lambda: client.get(f"/async-function/{call_id}").json()["status"] == "running",
            30,
            "the call running",
        )
        assert client.delete(f"/async-function/{call_id}").status_code == 202
        done = wait_status(client, call_id, timeout=30)
    assert done["status"] == "cancelled"
    assert done["body"] == "The call was cancelled.\n"


def test_cancel_every_queued_call_of_a_function(server: SluiceServer) -> None:
    make_function(server, "of-delayed", SLEEP_JS)
    make_function(server, "of-other", SLEEP_JS)
    with open_client(server) as client:
        later = {"X-Delay-Seconds": "600"}
        ids = [
            client.post("/async-function/of-delayed", headers=later).headers["x-call-id"]
            for _ in range(3)
        ]
        other = client.post("/async-function/of-other", headers=later).headers["x-call-id"]
        assert client.delete("/system/queue/of-delayed").status_code == 401
    with server.client() as admin:
        answer = admin.delete("/system/queue/of-delayed")
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"function": "of-delayed", "cancelled": 3}
        states = [admin.get(f"/async-function/{i}").json()["status"] for i in ids]
        assert states == ["cancelled"] * 3
        assert admin.get(f"/async-function/{other}").json()["status"] == "queued"
        assert admin.delete(f"/async-function/{other}").status_code == 202
        assert admin.delete(f"/async-function/{uuid.uuid4()}").status_code == 404


def test_an_idempotency_key_gives_back_the_first_call(server: SluiceServer) -> None:
    make_function(server, "of-idem", SLEEP_JS)
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    with server.client() as client:
        first = client.post("/async-function/of-idem", json={"ms": 1}, headers=key)
        again = client.post("/async-function/of-idem", json={"ms": 1}, headers=key)
        assert first.status_code == again.status_code == 202
        assert again.headers["x-call-id"] == first.headers["x-call-id"]
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        wait_status(client, first.headers["x-call-id"])
        sync = client.post("/function/of-idem", json={"ms": 1}, headers=key)
    assert sync.status_code == 200
    assert sync.json() == {"slept": 1}
    assert sync.headers["x-call-id"] == first.headers["x-call-id"]
    with server.client() as admin:
        counted = admin.get("/system/function/of-idem")
        listed = admin.get("/system/functions").json()
    assert counted.status_code == 200
    (entry,) = [f for f in listed if f["name"] == "of-idem"]
    assert entry["invocationCount"] == 1.0


def test_concurrent_submits_with_one_key_make_one_call(server: SluiceServer) -> None:
    make_function(server, "of-sleep", SLEEP_JS)
    key = {"Idempotency-Key": f"burst-{uuid.uuid4()}"}

    def submit(_: int) -> str:
        with open_client(server) as client:
            answer = client.post("/async-function/of-sleep", json={"ms": 1}, headers=key)
            assert answer.status_code == 202, answer.text
            return str(answer.headers["x-call-id"])

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(submit, range(8)))
    assert len(ids) == 1
