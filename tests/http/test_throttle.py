"""The count of failed key checks per client address: a minute at a time, OpenWhisk's
wording, Retry-After to the window's end, IPv6 counted per /64, a bounded memory."""

from __future__ import annotations

import pytest

from sluice.errors import TooManyRequests
from sluice.http.throttle import KeyFailures, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_past_the_allowance_a_failure_is_429_until_the_minute_is_over() -> None:
    clock = Clock()
    failures = KeyFailures(3, clock=clock)
    for _ in range(3):
        failures.failed("10.0.0.1")
    clock.now += 20.5
    with pytest.raises(TooManyRequests) as refused:
        failures.failed("10.0.0.1")
    assert refused.value.message == "Too many requests in the last minute (count: 4, allowed: 3)."
    assert refused.value.retry_after == 40
    with pytest.raises(TooManyRequests) as again:
        failures.failed("10.0.0.1")
    assert "(count: 5, allowed: 3)" in again.value.message
    failures.failed("10.0.0.2")  # another address has its own count
    clock.now += 40
    failures.failed("10.0.0.1")  # a new minute


def test_zero_counts_nothing() -> None:
    failures = KeyFailures(0)
    for _ in range(1000):
        failures.failed("10.0.0.1")


def test_an_ipv6_host_is_counted_with_its_whole_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:10.1.2.3") == "10.1.2.3"
    assert client_key("127.0.0.1") == "127.0.0.1"
    failures = KeyFailures(1)
    failures.failed("2001:db8:1:2::1")
    with pytest.raises(TooManyRequests):
        failures.failed("2001:db8:1:2::2")


def test_the_oldest_window_is_forgotten_past_the_bound() -> None:
    clock = Clock()
    failures = KeyFailures(1, clock=clock, max_addresses=2)
    failures.failed("10.0.0.1")
    clock.now += 1
    failures.failed("10.0.0.2")
    failures.failed("10.0.0.3")  # 10.0.0.1's window goes
    failures.failed("10.0.0.1")  # counted afresh: its first failure again
    with pytest.raises(TooManyRequests):
        failures.failed("10.0.0.3")
