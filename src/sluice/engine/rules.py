"""Rules: when a trigger fires, run an action. Active or inactive."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sluice.engine import entities
from sluice.engine.entities import common_fields
from sluice.engine.names import EntityPath, check_name, parse_reference
from sluice.engine.packages import Packages
from sluice.engine.resolve import resolve_action
from sluice.errors import BadRequest, Forbidden, NotFound
from sluice.records import Entity
from sluice.store.base import Store

RULES = "rules"
TRIGGERS = "triggers"
ACTIVE, INACTIVE = "active", "inactive"
#: a trigger's id, made when it is created and kept by updates; a rule keeps the id of the
#: trigger it was linked to, so a trigger deleted and made again does not revive its rules
#: (upstream keeps a trigger's rules in the trigger's own record, lost with it)
TRIGGER_UID = "uid"


def rule_target(doc: dict[str, Any], key: str) -> EntityPath:
    ref = doc[key]
    return EntityPath(ref["namespace"], ref["name"], ref.get("package"))


def _ref(path: EntityPath) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": path.namespace, "name": path.name}
    if path.package:
        out["package"] = path.package
    return out


class Rules:
    def __init__(self, store: Store, packages: Packages) -> None:
        self.store = store
        self.packages = packages

    def _reference(self, namespace: str, body: dict[str, Any], key: str) -> EntityPath | None:
        if key not in body:
            return None
        value = body[key]
        if isinstance(value, dict):  # {"path": "ns/pkg", "name": "x"} as records show them
            value = f"/{value.get('path', namespace)}/{value.get('name', '')}"
        if not isinstance(value, str) or not value:
            raise BadRequest(f"The rule needs a '{key}' name.")
        return parse_reference(namespace, value)

    async def _trigger(self, namespace: str, trigger: EntityPath) -> Entity:
        """The trigger a rule of `namespace` names: its own (triggers are never shared)."""
        if trigger.namespace != namespace:
            raise Forbidden()
        entity = await self.store.get_entity(namespace, TRIGGERS, trigger.path)
        if entity is None:
            raise BadRequest(f"trigger /{trigger.qualified} does not exist")
        return entity

    async def _check_action(self, namespace: str, action: EntityPath) -> None:
        try:
            await resolve_action(
                self.store, self.packages, namespace, action.namespace, action.path
            )
        except NotFound:
            raise BadRequest(f"action /{action.qualified} does not exist") from None

    async def put(self, namespace: str, name: str, body: dict[str, Any], overwrite: bool) -> Entity:
        """Create or update a rule; its trigger and action must exist (400 as upstream). A new
        rule is active; an updated one keeps the status it reads (inactive once its trigger
        was deleted), now linked to the trigger it names."""
        check_name(name, "rule name")

        async def build(old: dict[str, Any] | None) -> dict[str, Any]:
            doc = common_fields(body, old)
            trigger = self._reference(namespace, body, "trigger")
            action = self._reference(namespace, body, "action")
            if old is None and (trigger is None or action is None):
                raise BadRequest("rule requires a valid trigger and a valid action")
            trigger = trigger or rule_target(old or {}, "trigger")
            action = action or rule_target(old or {}, "action")
            linked = await self._trigger(namespace, trigger)
            await self._check_action(namespace, action)
            status = ACTIVE
            if old is not None:
                old_trigger = rule_target(old, "trigger")
                current = await self.store.get_entity(namespace, TRIGGERS, old_trigger.path)
                status = _status(old, current)
            doc["trigger"], doc["action"] = _ref(trigger), _ref(action)
            doc["status"], doc[TRIGGER_UID] = status, linked.doc.get(TRIGGER_UID)
            return doc

        return await entities.upsert(self.store, namespace, RULES, name, overwrite, build)

    async def set_status(self, namespace: str, name: str, status: Any) -> Entity:
        """Enable or disable a rule; enabling links it to its trigger as it is now (one
        re-created since), which must exist."""
        if status not in (ACTIVE, INACTIVE):
            raise BadRequest("The rule status must be 'active' or 'inactive'.")
        rule = await entities.get(self.store, namespace, RULES, name)
        trigger = await self._current_trigger(rule)
        if _status(rule.doc, trigger) == status:
            return _reading(rule, trigger)
        if trigger is None:
            raise NotFound("Only rules with existing triggers can be activated")

        uid = trigger.doc.get(TRIGGER_UID)

        async def build(old: dict[str, Any] | None) -> dict[str, Any]:
            assert old is not None
            return {**old, "status": status, TRIGGER_UID: uid}

        return await entities.upsert(self.store, namespace, RULES, name, True, build)

    async def _current_trigger(self, rule: Entity) -> Entity | None:
        trigger = rule_target(rule.doc, "trigger")
        return await self.store.get_entity(trigger.namespace, TRIGGERS, trigger.path)

    async def get(self, namespace: str, name: str) -> Entity:
        """The rule with the status it has: inactive when its trigger is gone."""
        rule = await entities.get(self.store, namespace, RULES, name)
        return _reading(rule, await self._current_trigger(rule))

    async def page(self, namespace: str, skip: int, limit: int) -> list[Entity]:
        return await self.store.list_entities(namespace, RULES, skip, limit)

    async def count(self, namespace: str) -> int:
        return await self.store.count_entities(namespace, RULES)

    async def delete(self, namespace: str, name: str) -> Entity:
        rule = await entities.delete(self.store, namespace, RULES, name)
        return replace(rule, doc={**rule.doc, "status": INACTIVE})  # as upstream answers

    async def of_trigger(self, namespace: str, trigger: str) -> list[Entity]:
        """The rules linked to this trigger as it is now: not those of a trigger of the same
        name that was deleted (they stay inactive until enabled again)."""
        entity = await self.store.get_entity(namespace, TRIGGERS, trigger)
        if entity is None:
            return []
        rules = await self.store.list_entities(namespace, RULES, 0, 100_000)
        return [
            rule
            for rule in rules
            if rule.doc["trigger"]["namespace"] == namespace
            and rule_target(rule.doc, "trigger").path == trigger
            and _linked(rule.doc, entity)
        ]


def _linked(rule: dict[str, Any], trigger: Entity | None) -> bool:
    """Whether the rule was made for (or enabled on) this very trigger: triggers made before
    triggers had ids, and their rules, have none and match."""
    return trigger is not None and trigger.doc.get(TRIGGER_UID) == rule.get(TRIGGER_UID)


def _status(rule: dict[str, Any], trigger: Entity | None) -> str:
    return str(rule["status"]) if _linked(rule, trigger) else INACTIVE


def _reading(rule: Entity, trigger: Entity | None) -> Entity:
    return replace(rule, doc={**rule.doc, "status": _status(rule.doc, trigger)})
