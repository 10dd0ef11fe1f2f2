"""A trigger fired in process: each active rule's action is accepted, with the trigger's
parameters under the fire's, and the trigger's own activation lists what was started, in one
write; an inactive rule or a deleted action starts nothing; a fire id is used once."""

from __future__ import annotations

import json

import pytest
from tests.support.engine import NAMESPACE, ended, put_python

from sluice.call_meta import CallMeta
from sluice.engine.rules import INACTIVE
from sluice.errors import Conflict
from sluice.ids import CallId
from sluice.records import CallState
from sluice.store.base import CallFilter
from sluice.wiring import Sluice

pytestmark = pytest.mark.anyio

ECHO = "def main(args):\n    return {'got': args}\n"


async def _rule(app: Sluice, name: str, trigger: str, action: str) -> None:
    body = {"trigger": f"/{NAMESPACE}/{trigger}", "action": f"/{NAMESPACE}/{action}"}
    await app.rules.put(NAMESPACE, name, body, False)


async def test_a_fire_starts_each_active_rules_action_and_records_them(engine: Sluice) -> None:
    await put_python(engine, "echo", ECHO)
    await put_python(engine, "unused", ECHO)
    await put_python(engine, "doomed", ECHO)
    trigger = {"parameters": [{"key": "who", "value": "trigger"}, {"key": "k", "value": 1}]}
    await engine.triggers.put(NAMESPACE, "t", trigger, False)
    await _rule(engine, "r-on", "t", "echo")
    await _rule(engine, "r-off", "t", "unused")
    await _rule(engine, "r-gone", "t", "doomed")
    await engine.rules.set_status(NAMESPACE, "r-off", INACTIVE)
    await engine.actions.delete(NAMESPACE, "doomed")

    fired = await engine.triggers.fire(NAMESPACE, "t", {"who": "fire"}, 14, CallMeta())
    assert fired.id is not None
    started = {rule.name: call_id for rule, call_id in fired.started}
    assert started.keys() == {"r-on", "r-gone"}
    assert started["r-gone"] is None
    call_id = started["r-on"]
    assert call_id is not None
    call = await ended(engine, call_id)
    assert call.record is not None
    assert call.record["result"] == {"got": {"who": "fire", "k": 1}}
    assert call.meta.cause == fired.id.hex

    activation = await engine.calls.get(NAMESPACE, fired.id)
    assert activation.state is CallState.SUCCESS
    assert activation.record is not None
    logs = activation.record["logs"]
    assert len(logs) == 3  # one line per rule
    assert _entries(logs) == {
        f"{NAMESPACE}/r-on": {
            "statusCode": 0,
            "success": True,
            "activationId": call_id.hex,
            "action": f"{NAMESPACE}/echo",
        },
        f"{NAMESPACE}/r-gone": {
            "statusCode": 1,
            "success": False,
            "error": "The requested resource does not exist.",
            "action": f"{NAMESPACE}/doomed",
        },
    }
    assert (
        f"Rule '{NAMESPACE}/r-off' is inactive, action '{NAMESPACE}/unused' was not activated."
    ) in logs


def _entries(logs: list[str]) -> dict[str, dict[str, object]]:
    """The log lines of the rules that started (or failed to start) their action, by rule."""
    entries = [json.loads(line) for line in logs if line.startswith("{")]
    return {entry.pop("rule"): entry for entry in entries}


async def test_a_fire_with_no_active_rule_records_nothing(api_only: Sluice) -> None:
    await put_python(api_only, "echo", ECHO)
    await api_only.triggers.put(NAMESPACE, "t", {}, False)
    assert (await api_only.triggers.fire(NAMESPACE, "t", {}, 2, CallMeta())).id is None
    await _rule(api_only, "r", "t", "echo")
    await api_only.rules.set_status(NAMESPACE, "r", INACTIVE)
    assert (await api_only.triggers.fire(NAMESPACE, "t", {}, 2, CallMeta())).id is None
    assert await api_only.calls.count(CallFilter(NAMESPACE, terminal_only=False)) == 0


async def test_a_fire_id_is_used_once(api_only: Sluice) -> None:
    await put_python(api_only, "echo", ECHO)
    await api_only.triggers.put(NAMESPACE, "t", {}, False)
    await _rule(api_only, "r", "t", "echo")
    fire_id = CallId.new()
    fired = await api_only.triggers.fire(NAMESPACE, "t", {}, 2, CallMeta(), fire_id)
    assert fired.id == fire_id
    with pytest.raises(Conflict):
        await api_only.triggers.fire(NAMESPACE, "t", {}, 2, CallMeta(), fire_id)
    # one trigger activation and one call of the action: the second fire wrote nothing
    assert await api_only.calls.count(CallFilter(NAMESPACE, terminal_only=False)) == 2
