"""write_debug: the server's log shows each async request's and callback's content; off by
default."""

from __future__ import annotations

from collections.abc import Callable

from tests.dialects.openfaas.helpers import ECHO_JS, make_function, open_client
from tests.support.listener import LOOPBACK_CALLBACKS, Listener
from tests.support.server import SluiceServer, wait_for


def _send(server: SluiceServer, listener: Listener, secret: str) -> None:
    make_function(server, "echo", ECHO_JS)
    with open_client(server) as client:
        answer = client.post(
            "/async-function/echo",
            content=secret.encode(),
            headers={"Content-Type": "text/plain", "X-Callback-Url": listener.url},
        )
    assert answer.status_code == 202, answer.text
    listener.wait(1)


def test_write_debug_logs_messages(new_server: Callable[..., SluiceServer]) -> None:
    server = new_server(SLUICE_WRITE_DEBUG="true", **LOOPBACK_CALLBACKS).start()
    with Listener() as listener:
        _send(server, listener, "the-secret-sauce")
    log = wait_for(
        lambda: (text := server.log_path.read_text()).count("the-secret-sauce") >= 2 and text,
        30,
        "the request and the callback in the log",
    )
    assert "accepted" in log
    assert "callback of call" in log


def test_messages_stay_out_of_the_log_by_default(server: SluiceServer) -> None:
    with Listener() as listener:
        _send(server, listener, "quiet-payload-123")
    assert "quiet-payload-123" not in server.log_path.read_text()
