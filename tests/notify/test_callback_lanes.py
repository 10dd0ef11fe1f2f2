"""Each callback destination has a lane of its own: a receiver that never answers holds at
most SLUICE_CALLBACK_PER_DESTINATION connections and its deliveries time out, while another
receiver's deliveries all arrive meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.dialects.openfaas.helpers import make_function, open_client
from tests.support.listener import LOOPBACK_CALLBACKS, Listener, Stall
from tests.support.server import SluiceServer, wait_for

HELLO_JS = "function main() { return {headers: {'content-type': 'text/plain'}, body: 'hi'}; }"
#: more than the sender held at once before lanes (64): with one queue for every
#: destination, the stalled receiver's deliveries took every slot
SLOW_CALLS = 70
FAST_CALLS = 30
PER_DESTINATION = 2
TIMEOUT_SECONDS = 20


def _submit(server: SluiceServer, url: str, count: int) -> list[str]:
    with open_client(server) as client:
        ids = []
        for _ in range(count):
            answer = client.post("/async-function/hello", headers={"X-Callback-Url": url})
            assert answer.status_code == 202, answer.text
            ids.append(answer.headers["x-call-id"])
    return ids


def _callback(owner: Any, call_id: str) -> dict[str, Any]:
    callback: dict[str, Any] = owner.get(f"/async-function/{call_id}").json()["callback"]
    return callback


def test_a_stalled_receiver_does_not_delay_another(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(
        **LOOPBACK_CALLBACKS,
        SLUICE_CALLBACK_PER_DESTINATION=str(PER_DESTINATION),
        SLUICE_CALLBACK_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
        SLUICE_CALLBACK_ATTEMPTS="1",
    ).start()
    make_function(server, "hello", HELLO_JS)
    with Stall() as stall, Listener() as fast, server.client() as owner:
        slow_ids = _submit(server, stall.url, SLOW_CALLS)
        wait_for(lambda: stall.opened >= PER_DESTINATION, 60, "the stalled receiver's first")
        fast_ids = _submit(server, fast.url, FAST_CALLS)
        got = fast.wait(FAST_CALLS)
        # every fast delivery arrived before a single stalled one had timed out (the
        # stalled receiver never answers: only the sender's timeout closes a connection)
        closed_then = stall.closed
        slow_then = [_callback(owner, call_id) for call_id in slow_ids]
        # the stalled ones then time out, PER_DESTINATION at a time
        timed_out = wait_for(
            lambda: next(
                (c for i in slow_ids if (c := _callback(owner, i))["status"] == "failed"), None
            ),
            TIMEOUT_SECONDS * 3,
            "a stalled delivery to time out",
        )
        most_open = stall.most_open
    assert {g.headers["x-call-id"] for g in got} == set(fast_ids)
    assert closed_then == 0
    assert all(c["status"] == "pending" and c["lastError"] is None for c in slow_then)
    assert most_open == PER_DESTINATION
    assert f"did not answer within {TIMEOUT_SECONDS} s" in timed_out["lastError"]
