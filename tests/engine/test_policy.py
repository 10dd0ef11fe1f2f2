"""The retry policy's arithmetic: exponential, bounded backoff (for calls and callbacks),
Go durations, retry codes, and a function's annotations over the settings."""

from __future__ import annotations

import pytest

from sluice.config import Settings
from sluice.engine.policy import Policy, RetryPolicy, duration_ms, parse_codes, retry_annotations
from sluice.errors import BadRequest
from sluice.timing import backoff_ms


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


def test_a_functions_annotations_override_the_settings() -> None:
    settings = Settings(retry_attempts=3, retry_codes="429", max_event_age_seconds=0)
    doc = {
        "annotations": [
            {"key": "com.openfaas.retry.attempts", "value": "5"},
            {"key": "com.openfaas.retry.codes", "value": "429,503"},
            {"key": "com.openfaas.retry.min_wait", "value": "2s"},
            {"key": "com.openfaas.retry.max_age", "value": "1h"},
        ]
    }
    assert RetryPolicy.of(doc, settings) == RetryPolicy(
        attempts=5,
        codes=frozenset({429, 503}),
        min_wait_ms=2000,
        max_wait_ms=60_000,
        max_age_ms=3_600_000,
    )
    plain = RetryPolicy.of({"annotations": []}, settings)
    assert (plain.attempts, plain.codes, plain.max_age_ms) == (3, frozenset({429}), None)


def test_the_first_of_two_same_annotations_counts_and_values_read_as_text() -> None:
    doc = {
        "annotations": [
            {"key": "com.openfaas.retry.attempts", "value": 7},
            {"key": "other", "value": "x"},
            {"key": "com.openfaas.retry.attempts", "value": "2"},
            {"key": "com.openfaas.retry.max_wait", "value": "1m"},
        ]
    }
    assert retry_annotations(doc) == ("7", None, None, "1m", None)
    assert retry_annotations({}) == (None,) * 5


def test_the_workers_policy_is_the_actions_and_a_bad_one_falls_back_to_the_settings() -> None:
    settings = Settings(retry_attempts=3, retry_codes="429", max_event_age_seconds=0)
    policy = Policy(settings)
    good = {"annotations": [{"key": "com.openfaas.retry.codes", "value": "503"}]}
    bad = {"annotations": [{"key": "com.openfaas.retry.min_wait", "value": "soon"}]}
    for _ in range(2):  # asked again: the same answer
        assert policy.policy(good) == RetryPolicy.of(good, settings)
        assert policy.policy(bad) == RetryPolicy.of({}, settings)
