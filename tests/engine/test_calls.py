"""Accepting calls in process: a call is written, run and waited for; an unknown action
writes nothing; idempotency keys and chosen ids; a stopping engine accepts nothing."""

from __future__ import annotations

import pytest
from tests.support.engine import NAMESPACE, ended, put_python

from sluice.call_meta import CallMeta
from sluice.engine.calls import CallOptions
from sluice.errors import Conflict, NotFound, Unavailable
from sluice.ids import CallId
from sluice.records import CallState
from sluice.store.base import CallFilter
from sluice.wiring import Sluice

pytestmark = pytest.mark.anyio

ECHO = "def main(args):\n    return {'got': args.get('n')}\n"
EVERY_CALL = CallFilter(NAMESPACE, terminal_only=False)


async def test_a_caller_who_waits_gets_the_end_and_one_who_does_not_an_id(
    engine: Sluice,
) -> None:
    await put_python(engine, "echo", ECHO)
    waited = await engine.calls.invoke(
        NAMESPACE, NAMESPACE, "echo", {"n": 1}, 8, CallMeta(), 20_000
    )
    assert waited.call is not None
    assert waited.call.state is CallState.SUCCESS
    assert waited.call.record is not None
    assert waited.call.record["result"] == {"got": 1}
    queued = await engine.calls.invoke(NAMESPACE, NAMESPACE, "echo", {"n": 2}, 8, CallMeta(), None)
    assert queued.call is None
    done = await ended(engine, queued.id)
    assert done.record is not None
    assert (done.state, done.record["result"], done.attempts) == (
        CallState.SUCCESS,
        {"got": 2},
        1,
    )


async def test_an_unknown_action_is_not_found_and_nothing_is_written(api_only: Sluice) -> None:
    with pytest.raises(NotFound):
        await api_only.calls.invoke(NAMESPACE, NAMESPACE, "nothing", {}, 2, CallMeta(), None)
    assert await api_only.calls.count(EVERY_CALL) == 0


async def test_an_idempotency_key_gives_the_first_call_back(api_only: Sluice) -> None:
    await put_python(api_only, "echo", ECHO)
    keyed = CallOptions(idempotency_key="order-7")
    first = await api_only.calls.invoke(
        NAMESPACE, NAMESPACE, "echo", {}, 2, CallMeta(), None, keyed
    )
    again = await api_only.calls.invoke(
        NAMESPACE, NAMESPACE, "echo", {}, 2, CallMeta(), None, keyed
    )
    assert (first.replayed, again.replayed) == (False, True)
    assert again.id == first.id
    other = CallOptions(idempotency_key="order-8")
    third = await api_only.calls.invoke(
        NAMESPACE, NAMESPACE, "echo", {}, 2, CallMeta(), None, other
    )
    assert third.id != first.id
    assert await api_only.calls.count(EVERY_CALL) == 2


async def test_a_chosen_id_is_the_calls_and_a_taken_one_a_conflict(api_only: Sluice) -> None:
    await put_python(api_only, "echo", ECHO)
    chosen = CallOptions(call_id=CallId.new())
    accepted = await api_only.calls.invoke(
        NAMESPACE, NAMESPACE, "echo", {}, 2, CallMeta(), None, chosen
    )
    assert accepted.id == chosen.call_id
    with pytest.raises(Conflict):
        await api_only.calls.invoke(NAMESPACE, NAMESPACE, "echo", {}, 2, CallMeta(), None, chosen)
    assert await api_only.calls.count(EVERY_CALL) == 1


async def test_an_engine_stopping_accepts_no_call(api_only: Sluice) -> None:
    await put_python(api_only, "echo", ECHO)
    await api_only.calls.stop_accepting()
    with pytest.raises(Unavailable):
        await api_only.calls.invoke(NAMESPACE, NAMESPACE, "echo", {}, 2, CallMeta(), None)
    assert await api_only.calls.count(EVERY_CALL) == 0
