"""A function's lane (its named queue, com.openfaas.queue, and its cap on running calls,
max_inflight) goes with every call of it, however the call is made: accepted, or fired by
a rule (engine/new_call.py builds both; before it, fired calls had neither)."""

from __future__ import annotations

import pytest
from tests.support.backends import take_until
from tests.support.engine import NAMESPACE, annotations, put_python

from sluice.call_meta import CallMeta
from sluice.engine.functions import function_of
from sluice.wiring import Sluice

pytestmark = pytest.mark.anyio

LANED = {"com.openfaas.queue": "q", "com.openfaas.max_inflight": "1"}


async def test_a_rule_fired_call_waits_in_its_functions_queue_under_its_cap(
    api_only: Sluice,
) -> None:
    code = "def main(args):\n    return {}\n"
    await put_python(api_only, "laned", code, annotations=annotations(LANED))
    await api_only.triggers.put(NAMESPACE, "t", {}, False)
    rule = {"trigger": f"/{NAMESPACE}/t", "action": f"/{NAMESPACE}/laned"}
    await api_only.rules.put(NAMESPACE, "r", rule, False)
    fired = await api_only.triggers.fire(NAMESPACE, "t", {}, 2, CallMeta())
    [(_, fired_id)] = fired.started
    accepted = await api_only.calls.invoke(NAMESPACE, NAMESPACE, "laned", {}, 2, CallMeta(), None)

    leases = {lease.id: lease for lease in await take_until(api_only.queue, 2)}
    assert leases.keys() == {fired_id, accepted.id}
    for lease in leases.values():
        assert (lease.queue_name, lease.fn_limit) == ("q", 1)
    action = await api_only.actions.get(NAMESPACE, "laned")
    function = function_of(action)
    assert (function.queue_name, function.max_inflight) == ("q", 1)
