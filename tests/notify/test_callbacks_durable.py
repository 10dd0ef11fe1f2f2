"""A callback owed is a durable job: it survives kill -9 of the server, before and after
the call it belongs to has ended."""

from __future__ import annotations

from collections.abc import Callable

from tests.dialects.openfaas.helpers import (
    SLEEP_JS,
    make_function,
    open_client,
    owner_status,
    wait_status,
)
from tests.support.listener import LOOPBACK_CALLBACKS, Listener
from tests.support.server import SluiceServer, free_port, wait_for


def test_a_callback_owed_by_a_running_call_survives_kill_9(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(**LOOPBACK_CALLBACKS).start()
    make_function(server, "sleeper", SLEEP_JS)
    with Listener() as listener:
        with open_client(server) as client:
            answer = client.post(
                "/async-function/sleeper",
                json={"ms": 2000},
                headers={"X-Callback-Url": listener.url},
            )
        call_id = answer.headers["x-call-id"]
        wait_for(
            lambda: owner_status(server, call_id)["status"] == "running", 30, "the call running"
        )
        server.kill()
        server.start()
        (got,) = listener.wait(1)
        with server.client() as client:
            done = wait_status(client, call_id)
    assert got.headers["x-call-id"] == call_id
    assert got.body == b'{"slept":2000}'
    # run again after the restart (2), or ended by the killed server's worker process in the
    # moments before it learnt that its server had died (1): either way, the callback came
    assert done["attempts"] in (1, 2)


def test_a_callback_still_being_retried_survives_kill_9(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_CALLBACK_BACKOFF_MS="500", **LOOPBACK_CALLBACKS).start()
    make_function(server, "sleeper", SLEEP_JS)
    port = free_port()
    with open_client(server) as client:
        answer = client.post(
            "/async-function/sleeper",
            json={"ms": 1},
            headers={"X-Callback-Url": f"http://127.0.0.1:{port}/late"},
        )
    call_id = answer.headers["x-call-id"]
    wait_for(
        lambda: owner_status(server, call_id).get("callback", {}).get("attempts", 0) >= 1,
        30,
        "a first, failed delivery",
    )
    server.kill()
    with Listener(port=port) as listener:
        server.start()
        (got,) = listener.wait(1)
        delivered = wait_for(
            lambda: owner_status(server, call_id)["callback"]["status"] == "delivered",
            30,
            "the callback recorded as delivered",
        )
    assert delivered
    assert got.path == "/late"
    assert got.headers["x-call-id"] == call_id
    assert int(got.headers["x-callback-attempt"]) >= 2
