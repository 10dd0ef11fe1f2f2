"""Cancelling in process: a queued call ends at once, a running one is stopped by the worker
running it, both as `cancelled`; an ended call cannot be, an unknown one is not found; all the
queued calls of a function at once."""

from __future__ import annotations

import pytest
from tests.support.engine import NAMESPACE, ended, in_state, put_python

from sluice.call_meta import CallMeta
from sluice.errors import Conflict, NotFound
from sluice.ids import CallId
from sluice.records import CallState
from sluice.wiring import Sluice

pytestmark = pytest.mark.anyio

QUICK = "def main(args):\n    return {}\n"
SLOW = "import time\n\ndef main(args):\n    time.sleep(60)\n    return {}\n"


async def test_a_queued_call_ends_cancelled_once(api_only: Sluice) -> None:
    await put_python(api_only, "quick", QUICK)
    accepted = await api_only.calls.invoke(NAMESPACE, NAMESPACE, "quick", {}, 2, CallMeta(), None)
    await api_only.cancellation.call(NAMESPACE, accepted.id)
    call = await api_only.calls.get(NAMESPACE, accepted.id)
    assert call.state is CallState.CANCELLED
    with pytest.raises(Conflict, match="ended already"):
        await api_only.cancellation.call(NAMESPACE, accepted.id)
    with pytest.raises(NotFound):
        await api_only.cancellation.call(NAMESPACE, CallId.new())
    with pytest.raises(NotFound):  # another namespace's call is not this one's to cancel
        await api_only.cancellation.call("other", accepted.id)


async def test_a_running_call_is_stopped_by_its_worker(engine: Sluice) -> None:
    await put_python(engine, "slow", SLOW)
    accepted = await engine.calls.invoke(NAMESPACE, NAMESPACE, "slow", {}, 2, CallMeta(), None)
    await in_state(engine, accepted.id, CallState.RUNNING)
    await engine.cancellation.call(NAMESPACE, accepted.id)
    call = await ended(engine, accepted.id, timeout=20)  # long before its 60 s of sleep
    assert call.state is CallState.CANCELLED
    assert call.attempts == 1


async def test_every_queued_call_of_a_function_is_cancelled_at_once(api_only: Sluice) -> None:
    await put_python(api_only, "quick", QUICK)
    await put_python(api_only, "other", QUICK)
    ids = [
        (await api_only.calls.invoke(NAMESPACE, NAMESPACE, "quick", {}, 2, CallMeta(), None)).id
        for _ in range(3)
    ]
    kept = await api_only.calls.invoke(NAMESPACE, NAMESPACE, "other", {}, 2, CallMeta(), None)
    assert await api_only.cancellation.queued_of(NAMESPACE, "quick") == 3
    for call_id in ids:
        assert (await api_only.calls.get(NAMESPACE, call_id)).state is CallState.CANCELLED
    assert (await api_only.calls.get(NAMESPACE, kept.id)).state is CallState.QUEUED
