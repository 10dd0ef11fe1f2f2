"""Triggers, and what firing one does: every active rule's action is accepted as a call and
the trigger's own activation lists them, all in one durable write."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import orjson

from sluice.call_meta import CallMeta
from sluice.config import Settings
from sluice.engine import entities
from sluice.engine.entities import common_fields
from sluice.engine.names import check_name
from sluice.engine.new_call import When, new_call
from sluice.engine.packages import Packages
from sluice.engine.resolve import resolve_action
from sluice.engine.rules import ACTIVE, TRIGGER_UID, TRIGGERS, Rules, rule_target
from sluice.errors import SluiceError, TooLarge
from sluice.ids import CallId
from sluice.observe import spans
from sluice.observe.trace import Trace, begin
from sluice.queue.base import Queue
from sluice.records import CallState, Entity, NewCall
from sluice.store.base import Store
from sluice.timing import now_ms


@dataclass(frozen=True, slots=True)
class Fired:
    #: the trigger activation's id; None when no rule was active (nothing was recorded)
    id: CallId | None
    #: (rule entity, the action call's id or None when it could not be started)
    started: list[tuple[Entity, CallId | None]]


def _log_line(entry: dict[str, Any]) -> str:
    return orjson.dumps(entry).decode()


class Triggers:
    def __init__(
        self, store: Store, queue: Queue, rules: Rules, packages: Packages, settings: Settings
    ) -> None:
        self.store = store
        self.queue = queue
        self.rules = rules
        self.packages = packages
        self.settings = settings

    async def put(self, namespace: str, name: str, body: dict[str, Any], overwrite: bool) -> Entity:
        check_name(name, "trigger name")

        async def build(old: dict[str, Any] | None) -> dict[str, Any]:
            doc = common_fields(body, old)
            doc["limits"] = {}
            doc[TRIGGER_UID] = old.get(TRIGGER_UID) if old is not None else secrets.token_hex(16)
            return doc

        return await entities.upsert(self.store, namespace, TRIGGERS, name, overwrite, build)

    async def get(self, namespace: str, name: str) -> Entity:
        return await entities.get(self.store, namespace, TRIGGERS, name)

    async def page(self, namespace: str, skip: int, limit: int) -> list[Entity]:
        return await self.store.list_entities(namespace, TRIGGERS, skip, limit)

    async def count(self, namespace: str) -> int:
        return await self.store.count_entities(namespace, TRIGGERS)

    async def delete(self, namespace: str, name: str) -> Entity:
        return await entities.delete(self.store, namespace, TRIGGERS, name)

    async def fire(
        self,
        namespace: str,
        name: str,
        params: dict[str, Any],
        size: int,
        meta: CallMeta,
        fire_id: CallId | None = None,
        trace: Trace | None = None,
    ) -> Fired:
        """Accept every active rule's action and record the trigger's activation, in one
        write. A given `fire_id` that was used before raises Conflict (nothing is written).
        The activation is a span of `trace` (the caller's), each rule's call a child of it."""
        if size > self.settings.request_max_bytes:
            raise TooLarge(
                f"The request content was too large ({size} > "
                f"{self.settings.request_max_bytes} bytes)."
            )
        trigger = await self.get(namespace, name)
        rules = await self.rules.of_trigger(namespace, name)
        if not any(rule.doc["status"] == ACTIVE for rule in rules):
            return Fired(None, [])
        payload = {
            **{p["key"]: p["value"] for p in trigger.doc["parameters"]},
            **params,
        }
        now = now_ms()
        trigger_id = fire_id or CallId.new()
        fired = begin(trace)
        calls: list[NewCall] = []
        logs: list[str] = []
        started: list[tuple[Entity, CallId | None]] = []
        for rule in rules:
            action = rule_target(rule.doc, "action")
            rule_name = f"{namespace}/{rule.name}"
            action_name = action.qualified
            if rule.doc["status"] != ACTIVE:
                logs.append(
                    f"Rule '{rule_name}' is inactive, action '{action_name}' was not activated."
                )
                continue
            entry: dict[str, Any] = {"statusCode": 0, "success": True}
            try:
                target = await resolve_action(
                    self.store, self.packages, namespace, action.namespace, action.path
                )
            except SluiceError as exc:
                entry = {"statusCode": 1, "success": False, "error": exc.message}
                started.append((rule, None))
            else:
                call_meta = replace(meta, cause=trigger_id.hex)
                call = new_call(
                    namespace, target, payload, call_meta, CallId.new(), When(now), parent=fired
                )
                calls.append(call)
                entry["activationId"] = call.id.hex
                started.append((rule, call.id))
            logs.append(_log_line({**entry, "rule": rule_name, "action": action_name}))
        record = {"result": payload, "logs": logs, "start": now, "version": trigger.version}
        trigger_call = NewCall(
            id=trigger_id,
            namespace=namespace,
            path=name,
            params=payload,
            meta=replace(meta, trigger=True),
            memory_mb=0,
            created=now,
            visible_at=now,
            state=CallState.SUCCESS,
            record=record,
            ended=now,
            trace=fired,
        )
        await self.queue.enqueue(trigger_call, *calls)
        spans.fired(fired, namespace, name, trigger_id.hex, now)
        return Fired(trigger_id, started)
