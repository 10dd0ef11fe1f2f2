"""A claimed callback handed back un-tried (its destination's lane was full): due again at
the given time with the attempts it had, on each SQL queue; a stale hand-back (after its
claim ran out and another sender claimed it) changes nothing."""

from __future__ import annotations

from tests.store.conftest import Run

from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.queue.base import Queue
from sluice.records import CallState, NewCall
from sluice.store.base import Candidate, Outcome


def _admit_all(candidate: Candidate) -> bool:
    return True


def test_a_callback_put_back_is_due_later_with_its_attempts(run: Run) -> None:
    async def scenario(queue: Queue) -> None:
        call = NewCall(
            CallId.new(), "ns", "act", {}, CallMeta(), 256, 1000, 1000, callback="http://a/"
        )
        await queue.enqueue(call)
        [lease] = await queue.take(2000, 1000, 1, _admit_all)
        await queue.ack(lease, Outcome(CallState.SUCCESS, {"result": {}}, 3000))
        [claimed] = await queue.callbacks_due(5000, 1000, 10)
        assert claimed.attempts == 1
        await queue.put_back_callback(claimed, 8000)
        assert await queue.callbacks_due(7999, 1000, 10) == []
        [again] = await queue.callbacks_due(8000, 1000, 10)
        assert again.attempts == 1  # the put-back try did not count
        # its claim runs out, another sender claims it: the first one's hand-back is stale
        [third] = await queue.callbacks_due(9000, 1000, 10)
        assert third.attempts == 2
        await queue.put_back_callback(again, 20000)
        [fourth] = await queue.callbacks_due(15000, 1000, 10)  # third's claim ran out at 10000
        assert fourth.attempts == 3

    run(scenario)
