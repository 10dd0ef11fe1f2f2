"""Retry policy: calls the function answers with 429 run again with backoff, function
failures only by policy; async calls that fail for good become dead letters that can be
listed, redriven and dismissed; calls past their maximum age are not run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.dialects.openfaas.helpers import make_function, wait_status
from tests.support.server import SluiceServer

#: 429 for its first `busy` runs (counted per X-Call-Id), then 200
BUSY_PER_CALL_JS = """
const seen = {};
function main(args) {
  const id = args.__ow_headers["x-call-id"];
  seen[id] = (seen[id] || 0) + 1;
  if (seen[id] <= 2) return {statusCode: 429, headers: {"retry-after": "0"}, body: "busy"};
  return {statusCode: 200, headers: {"content-type": "text/plain"}, body: "ran " + seen[id]};
}
"""
#: 429 for the first two runs of this process, whatever the call
BUSY_TWICE_JS = """
let runs = 0;
function main(args) {
  runs += 1;
  if (runs <= 2) return {statusCode: 429, body: "busy " + runs};
  return {statusCode: 200, headers: {"content-type": "text/plain"}, body: "ran " + runs};
}
"""
FAILING_JS = "function main() { throw new Error('broken'); }"


def _retry(**values: str) -> list[dict[str, str]]:
    return [{"key": f"com.openfaas.retry.{k}", "value": v} for k, v in values.items()]


@pytest.fixture(scope="module")
def rs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    env = {"SLUICE_RETRY_MIN_WAIT_MS": "100", "SLUICE_RETRY_MAX_WAIT_MS": "400"}
    instance = SluiceServer(tmp_path_factory.mktemp("retries"), extra_env=env)
    try:
        instance.start()
        make_function(instance, "busy", BUSY_PER_CALL_JS)
        make_function(instance, "busy-twice", BUSY_TWICE_JS, annotations=_retry(attempts="2"))
        make_function(instance, "failing", FAILING_JS)
        make_function(instance, "young", BUSY_PER_CALL_JS, annotations=_retry(max_age="1s"))
        yield instance
    finally:
        instance.close()


def _dead(client: httpx.Client, function: str) -> list[dict[str, Any]]:
    found = client.get("/system/dead-letters", params={"function": function})
    assert found.status_code == 200, found.text
    letters: list[dict[str, Any]] = found.json()
    return letters


def test_a_busy_answer_is_retried_until_it_runs(rs: SluiceServer) -> None:
    with rs.client() as client:
        accepted = client.post("/async-function/busy")
        status = wait_status(client, accepted.headers["x-call-id"])
        sync = client.post("/function/busy")
    assert status["status"] == "success"
    assert status["attempts"] == 3
    assert status["body"] == "ran 3"
    assert sync.status_code == 200
    assert sync.text == "ran 3"


def test_out_of_attempts_is_a_dead_letter_that_can_be_redriven(rs: SluiceServer) -> None:
    with rs.client() as client, rs.client() as admin:
        accepted = client.post("/async-function/busy-twice", content=b"payload")
        call_id = accepted.headers["x-call-id"]
        status = wait_status(client, call_id)
        assert status["functionStatus"] == 429
        assert status["attempts"] == 2
        (letter,) = _dead(admin, "busy-twice")
        assert letter["callId"] == call_id
        assert letter["reason"] == "failed 2 times (429)"
        assert letter["function"] == "busy-twice"
        redriven = admin.post(f"/system/dead-letters/{call_id}/redrive")
        assert redriven.status_code == 202, redriven.text
        again = wait_status(client, redriven.json()["callId"])
        assert _dead(admin, "busy-twice") == []
    assert again["status"] == "success"
    assert again["body"] == "ran 3"


def test_function_failures_are_not_retried_by_default(rs: SluiceServer) -> None:
    with rs.client() as client, rs.client() as admin:
        accepted = client.post("/async-function/failing")
        call_id = accepted.headers["x-call-id"]
        status = wait_status(client, call_id)
        letters = _dead(admin, "failing")
        sync = client.post("/function/failing")
        dismissed = admin.delete(f"/system/dead-letters/{call_id}")
        after = _dead(admin, "failing")
    assert status["status"] == "developer_error"
    assert status["attempts"] == 1
    assert [item["reason"] for item in letters] == ["failed (500)"]
    assert sync.status_code == 500
    assert dismissed.status_code == 202
    assert after == []


def test_a_call_past_its_maximum_age_is_not_run(rs: SluiceServer) -> None:
    with rs.client() as client, rs.client() as admin:
        accepted = client.post("/async-function/young", headers={"X-Delay-Seconds": "1.5"})
        call_id = accepted.headers["x-call-id"]
        status = wait_status(client, call_id)
        (letter,) = _dead(admin, "young")
    assert status["status"] == "platform_error"
    assert "maximum event age" in status["body"]
    assert letter["reason"] == "older than its maximum event age"
