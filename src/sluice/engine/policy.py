"""What happens when a run ends: finish the call, run it again later, or dead-letter it.

Platform failures (the runtime could not run the code) are always worth another run; the
function's own answers only when their HTTP status is one of its policy's codes (429 by
default: the function says it is busy). Runs are capped by the policy's attempts, waits
double from the minimum to the maximum (a `Retry-After` from the function is honoured), and
a call older than its maximum event age is not run again. An async call that fails for
good, or grows too old, becomes a dead letter: kept with its reason to be inspected and
redriven.

A function's annotations override the settings: `com.openfaas.retry.attempts`,
`com.openfaas.retry.codes` (`429,503`), `com.openfaas.retry.min_wait`,
`com.openfaas.retry.max_wait` (Go durations, as OpenFaaS Pro), and Sluice's own
`com.openfaas.retry.max_age`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from sluice.answers import outcome_answer
from sluice.config import Settings
from sluice.engine.functions import RETRY_KEYS, Function
from sluice.errors import BadRequest
from sluice.numbers import decimal, storable, whole_number
from sluice.records import CallState, Lease
from sluice.store.base import Outcome, failure
from sluice.timing import backoff_ms

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
#: distinct retry annotations whose parse is kept
_PARSED_MAX = 256
#: a function with no retry annotations
_NONE_GIVEN: tuple[str | None, ...] = (None,) * len(RETRY_KEYS)


def duration_ms(text: str, field: str) -> int:
    """A Go duration (`30s`, `1m30s`, `500ms`) or a number of seconds, in milliseconds."""
    text = text.strip()
    seconds = decimal(text)
    parts = _DURATION.findall(text)
    if seconds is not None:
        total = seconds * 1000
    elif parts and "".join(n + u for n, u in parts) == text:
        total = sum(float(n) * _UNITS_MS[u] for n, u in parts)
    else:
        total = math.nan
    if not storable(total):
        raise BadRequest(f"Invalid {field} '{text[:40]}': use a duration such as 30s or 5m.")
    return round(total)


def parse_codes(text: str) -> frozenset[int]:
    codes = [part.strip() for part in text.split(",") if part.strip()]
    statuses = [whole_number(code) for code in codes]
    if not all(status is not None and 100 <= status <= 599 for status in statuses):
        raise BadRequest(f"Invalid retry codes '{text[:80]}': HTTP statuses such as 429,503.")
    return frozenset(status for status in statuses if status is not None)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int
    codes: frozenset[int]
    min_wait_ms: int
    max_wait_ms: int
    #: None: calls may be any age
    max_age_ms: int | None

    @classmethod
    def parse(cls, given: tuple[str | None, ...], settings: Settings) -> RetryPolicy:
        """The policy of a function's retry annotations (`Function.retry`) over the settings."""
        texts = dict(zip(RETRY_KEYS, given, strict=True))

        def wait(key: str, default: int | None) -> int | None:
            text = texts[key]
            return duration_ms(text, key) if text else default

        attempts = whole_number(texts["attempts"] or "")
        codes = texts["codes"]
        age_ms = round(settings.max_event_age_seconds * 1000) or None
        return cls(
            attempts=settings.retry_attempts if attempts is None else attempts,
            codes=parse_codes(codes if codes is not None else settings.retry_codes),
            min_wait_ms=wait("min_wait", settings.retry_min_wait_ms) or 0,
            max_wait_ms=wait("max_wait", settings.retry_max_wait_ms) or 0,
            max_age_ms=wait("max_age", age_ms),
        )


@dataclass(frozen=True, slots=True)
class Retry:
    """Run the call again from `at_ms`."""

    at_ms: int


class Policy:
    """The worker's hooks around a run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: policies parsed, by their annotations: every run asks twice, and they seldom vary
        self._parsed: dict[tuple[str | None, ...], RetryPolicy] = {}

    def policy(self, function: Function) -> RetryPolicy:
        given = function.retry
        policy = self._parsed.get(given)
        if policy is None:
            policy = self._parse(given)
            if len(self._parsed) >= _PARSED_MAX:
                self._parsed.clear()
            self._parsed[given] = policy
        return policy

    def _parse(self, given: tuple[str | None, ...]) -> RetryPolicy:
        try:
            return RetryPolicy.parse(given, self.settings)
        except (BadRequest, ValueError):  # a bad annotation: the settings decide
            return RetryPolicy.parse(_NONE_GIVEN, self.settings)

    def before(self, lease: Lease, function: Function, now_ms: int) -> Outcome | None:
        """An outcome without running, when the call is older than its maximum age."""
        max_age = self.policy(function).max_age_ms
        if max_age is None or now_ms - lease.created <= max_age:
            return None
        message = f"The call was older than its maximum event age ({max_age} ms) and not run."
        outcome = failure(lease, CallState.PLATFORM_ERROR, message)
        return _dead(lease, outcome, "older than its maximum event age")

    def after(self, lease: Lease, function: Function, outcome: Outcome) -> Outcome | Retry:
        """Finish the call with `outcome`, or run it again later."""
        if outcome.state is CallState.CANCELLED:
            return outcome
        policy = self.policy(function)
        answer = outcome_answer(outcome.state, outcome.record)
        worth = outcome.state is CallState.PLATFORM_ERROR or answer.status in policy.codes
        if not worth:
            if outcome.state is CallState.SUCCESS:
                return outcome
            return _dead(lease, outcome, f"failed ({answer.status})")
        if lease.attempt >= policy.attempts:
            return _dead(lease, outcome, f"failed {lease.attempt} times ({answer.status})")
        retry_after = dict(answer.headers).get("retry-after")
        wait = backoff_ms(lease.attempt, policy.min_wait_ms, policy.max_wait_ms, retry_after)
        at = outcome.ended + wait
        if policy.max_age_ms is not None and at - lease.created > policy.max_age_ms:
            return _dead(lease, outcome, "too old to run again")
        return Retry(at)


def _dead(lease: Lease, outcome: Outcome, reason: str) -> Outcome:
    """An async call's failure is kept as a dead letter; others just end."""
    if not lease.meta.async_:
        return outcome
    return dataclasses.replace(outcome, dead_letter=reason)
