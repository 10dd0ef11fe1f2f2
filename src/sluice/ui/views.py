"""What the dashboard shows of Sluice's records, as JSON: one shape for every dialect's
calls and functions (the dialect is a field, not a format)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from sluice.engine.functions import function_of
from sluice.engine.rules import rule_target
from sluice.ids import CallId
from sluice.records import Call, Callback, CallState, DeadLetter, Entity

#: a call id as OpenWhisk spells it, inside a trigger's or sequence's logs
_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


def call_dialect(call: Call) -> str:
    return call.meta.dialect


def is_error(state: CallState) -> bool:
    return state.terminal and state is not CallState.SUCCESS


def function(entity: Entity, recent: list[Call]) -> dict[str, Any]:
    """A function with its last calls (newest first) and the error rate among those ended."""
    ended = [call for call in recent if call.state.terminal]
    errors = sum(1 for call in ended if is_error(call.state))
    view = function_of(entity)
    return {
        "name": entity.name,
        "kind": view.kind,
        "dialect": view.deployed_by,
        "limits": dict(view.limits),
        "updated": entity.updated,
        "lastCalls": [call_summary(call) for call in recent[:5]],
        "errorRate": round(errors / len(ended), 4) if ended else None,
        "ended": len(ended),
    }


def call_summary(call: Call) -> dict[str, Any]:
    record = call.record or {}
    started = call.started or record.get("start")
    ended = call.ended or record.get("end")
    return {
        "id": call.id.hex,
        "function": call.path,
        "state": call.state.value,
        "dialect": call_dialect(call),
        "attempts": call.attempts,
        "created": call.created,
        "started": started,
        "ended": ended,
        "waitMs": (started - call.created) if started else None,
        "durationMs": record.get("duration", (ended - started) if ended and started else None),
        "kind": "trigger" if call.meta.trigger else record.get("kind"),
    }


def _children(call: Call) -> list[str]:
    """The calls a trigger's fire or a sequence started: their ids are in its logs."""
    record = call.record or {}
    if not call.meta.trigger and record.get("kind") != "sequence":
        return []
    found: list[str] = []
    for line in record.get("logs", []):
        for match in _HEX_ID.findall(str(line)):
            if match not in found:
                found.append(match)
    return found


def _parents(call: Call) -> list[dict[str, str]]:
    parents = []
    meta = call.meta
    if meta.cause is not None:
        parents.append({"relation": "trigger", "id": meta.cause})
    if meta.sequence_parent is not None:
        parents.append({"relation": "sequence", "id": meta.sequence_parent})
    if meta.redriven_from is not None:
        redriven = CallId.parse(meta.redriven_from)
        if redriven is not None:
            parents.append({"relation": "redriven from", "id": redriven.hex})
    return parents


def callback(found: Callback | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "url": found.url,
        "state": found.state.value,
        "attempts": found.attempts,
        "due": found.due,
        "lastStatus": found.last_status,
        "lastError": found.last_error,
        "settled": found.settled,
    }


def call_detail(call: Call, delivery: Callback | None) -> dict[str, Any]:
    record = call.record or {}
    return {
        **call_summary(call),
        "params": call.params,
        "result": record.get("result"),
        "logs": [str(line) for line in record.get("logs", [])],
        "parents": _parents(call),
        "children": _children(call),
        "callback": callback(delivery),
        "initMs": record.get("initTime"),
    }


def dead_letter(letter: DeadLetter, call: Call) -> dict[str, Any]:
    return {**call_summary(call), "reason": letter.reason, "dead": letter.created}


def trigger(entity: Entity, schedule: Entity | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": entity.name, "updated": entity.updated, "alarm": None}
    if schedule is not None:
        doc = schedule.doc
        out["alarm"] = {
            "feed": doc.get("feed"),
            "cron": doc.get("cron"),
            "minutes": doc.get("minutes"),
            "date": doc.get("date"),
            "status": doc.get("status"),
            "fired": doc.get("fired", 0),
            "next": doc.get("next"),
        }
    return out


def rule(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.name,
        "trigger": rule_target(entity.doc, "trigger").path,
        "action": rule_target(entity.doc, "action").qualified,
        "status": entity.doc.get("status"),
    }


def sse(event: str, data: Any) -> bytes:
    """One server-sent event; its data is a single JSON line."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
