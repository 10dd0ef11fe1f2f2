"""SLUICE_LOG_FORMAT=json: a real server's stderr is one JSON object a line, and the lines
about a call carry its id, namespace, function and trace id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from tests.http.test_tracing import CALLER, ECHO_TRACE_JS, TRACE_ID
from tests.support.server import SluiceServer, put_action, wait_for


def _lines(server: SluiceServer) -> list[dict[str, Any]]:
    text = server.log_path.read_text()
    lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines), text
    return lines


@pytest.mark.parametrize("worker_process", ["0", "1"])
def test_json_lines_carry_the_call(
    new_server: Callable[..., SluiceServer], worker_process: str
) -> None:
    """In one process, and with the calls run in a second one (SLUICE_WORKER_PROCESS)."""
    server = new_server(
        SLUICE_LOG_FORMAT="json", SLUICE_LOG_LEVEL="DEBUG", SLUICE_WORKER_PROCESS=worker_process
    ).start()
    with server.client() as client:
        assert put_action(client, "log-echo", ECHO_TRACE_JS).status_code == 200
        answer = client.post(
            server.ns_path("actions/log-echo?blocking=true"), headers={"traceparent": CALLER}
        )
        assert answer.status_code == 200, answer.text
    call_id = answer.json()["activationId"]

    def about_call() -> list[dict[str, Any]] | None:
        mine = [line for line in _lines(server) if line.get("call_id") == call_id]
        return mine if {"sluice.calls", "sluice.worker"} <= {m["logger"] for m in mine} else None

    lines = wait_for(about_call, 30, f"the log lines of call {call_id}")
    for line in lines:
        assert line["namespace"] == "guest"
        assert line["function"] == "log-echo"
        assert line["trace_id"] == TRACE_ID
        assert line["level"] == "DEBUG"
        assert {"time", "message"} <= set(line)
    (ended,) = [line for line in lines if line["message"] == f"call {call_id} ended: success"]
    assert ended.get("process") == ("worker" if worker_process == "1" else None)
    server.stop()
    assert len(_lines(server)) > len(lines)  # the server's other lines are JSON too


def test_text_stays_the_default(new_server: Callable[..., SluiceServer]) -> None:
    server = new_server(SLUICE_LOG_FORMAT="yaml").start()
    server.stop()
    text = server.log_path.read_text()
    assert "SLUICE_LOG_FORMAT=yaml is not text or json: text it is" in text
    assert not text.lstrip().startswith("{")
