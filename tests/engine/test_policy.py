"""The retry policy's arithmetic: exponential, bounded backoff (for calls and callbacks),
Go durations, retry codes, and a function's annotations over the settings; and the policy
as a whole engine applies it, in process."""

from __future__ import annotations

import pytest
from tests.support.engine import NAMESPACE, annotations, ended, put_python

from sluice.call_meta import CallMeta
from sluice.config import Settings
from sluice.engine.functions import Function, parse
from sluice.engine.policy import (
    Policy,
    RetryPolicy,
    backoff_ms,
    duration_ms,
    parse_codes,
)
from sluice.errors import BadRequest
from sluice.records import CallState, Entity
from sluice.wiring import Sluice


def test_backoff_doubles_up_to_its_cap() -> None:
    waits = [backoff_ms(attempt, 100, 1000, None) for attempt in range(1, 7)]
    assert waits == [100, 200, 400, 800, 1000, 1000]


def test_retry_after_is_honoured_within_the_cap() -> None:
    assert backoff_ms(1, 100, 60_000, "5") == 5000
    assert backoff_ms(1, 100, 2000, "5") == 2000
    assert backoff_ms(3, 100, 60_000, "0") == 400
    assert backoff_ms(1, 100, 60_000, "soon") == 100


@pytest.mark.parametrize(
    ("text", "ms"), [("30s", 30_000), ("1m30s", 90_000), ("500ms", 500), ("180m", 10_800_000)]
)
def test_durations(text: str, ms: int) -> None:
    assert duration_ms(text, "exec_timeout") == ms


def test_bad_durations_and_codes_are_400() -> None:
    with pytest.raises(BadRequest, match="exec_timeout"):
        duration_ms("30 seconds", "exec_timeout")
    with pytest.raises(BadRequest, match="429,503"):
        parse_codes("429,busy")


def _function(annotations: dict[str, object]) -> Function:
    doc = {
        "exec": {"kind": "python:3", "code": "", "binary": False},
        "limits": {"timeout": 1000, "memory": 128, "logs": 1},
        "annotations": [{"key": k, "value": v} for k, v in annotations.items()],
    }
    return parse(Entity(NAMESPACE, "actions", "f", "0.0.1", 1, doc))


NO_RETRY = (None,) * 5


def test_a_functions_annotations_override_the_settings() -> None:
    settings = Settings(retry_attempts=3, retry_codes="429", max_event_age_seconds=0)
    function = _function(
        {
            "com.openfaas.retry.attempts": "5",
            "com.openfaas.retry.codes": "429,503",
            "com.openfaas.retry.min_wait": "2s",
            "com.openfaas.retry.max_age": "1h",
        }
    )
    assert RetryPolicy.parse(function.retry, settings) == RetryPolicy(
        attempts=5,
        codes=frozenset({429, 503}),
        min_wait_ms=2000,
        max_wait_ms=60_000,
        max_age_ms=3_600_000,
    )
    plain = RetryPolicy.parse(_function({}).retry, settings)
    assert (plain.attempts, plain.codes, plain.max_age_ms) == (3, frozenset({429}), None)


def test_the_workers_policy_is_the_actions_and_a_bad_one_falls_back_to_the_settings() -> None:
    settings = Settings(retry_attempts=3, retry_codes="429", max_event_age_seconds=0)
    policy = Policy(settings)
    good = _function({"com.openfaas.retry.codes": "503"})
    bad = _function({"com.openfaas.retry.min_wait": "soon"})
    for _ in range(2):  # asked again: the same answer
        assert policy.policy(good) == RetryPolicy.parse(good.retry, settings)
        assert policy.policy(good).codes == frozenset({503})
        assert policy.policy(bad) == RetryPolicy.parse(NO_RETRY, settings)


# The policy applied by a whole engine in process (tests/support/engine.py)

ANSWER_503 = "def main(args):\n    return {'error': {'statusCode': 503, 'body': 'busy'}}\n"
ANSWER_500 = "def main(args):\n    return {'error': {'statusCode': 500, 'body': 'broken'}}\n"
RETRY = {
    "com.openfaas.retry.attempts": "3",
    "com.openfaas.retry.codes": "429,503",
    "com.openfaas.retry.min_wait": "200ms",
    "com.openfaas.retry.max_wait": "400ms",
}


@pytest.mark.anyio
async def test_a_call_answering_a_retry_code_runs_again_after_a_wait_till_its_attempts(
    engine: Sluice,
) -> None:
    await put_python(engine, "busy", ANSWER_503, annotations=annotations(RETRY))
    meta = CallMeta(async_=True)
    accepted = await engine.calls.invoke(NAMESPACE, NAMESPACE, "busy", {}, 2, meta, None)
    call = await ended(engine, accepted.id)
    assert (call.state, call.attempts) == (CallState.APPLICATION_ERROR, 3)
    # the attempts waited 200 then 400 ms (the queue hid the call till then), besides running
    assert call.started is not None
    assert call.started - call.created >= 600
    [(letter, _)] = await engine.dead_letters.list(NAMESPACE, "busy", 10)
    assert (letter.id, letter.reason) == (call.id, "failed 3 times (503)")


@pytest.mark.anyio
async def test_a_call_failing_with_another_code_ends_at_its_first_attempt(engine: Sluice) -> None:
    await put_python(engine, "broken", ANSWER_500, annotations=annotations(RETRY))
    accepted = await engine.calls.invoke(NAMESPACE, NAMESPACE, "broken", {}, 2, CallMeta(), None)
    call = await ended(engine, accepted.id)
    assert (call.state, call.attempts) == (CallState.APPLICATION_ERROR, 1)
    # a caller who is not async keeps no dead letter
    assert await engine.dead_letters.list(NAMESPACE, "broken", 10) == []
