"""Rules: when a trigger fires, run an action. Active or inactive."""

from __future__ import annotations

from typing import Any

from sluice.engine import entities
from sluice.engine.entities import common_fields
from sluice.engine.names import EntityPath, check_name, parse_reference
from sluice.errors import BadRequest, NotFound
from sluice.records import Entity
from sluice.store.base import Store

RULES = "rules"
TRIGGERS = "triggers"
ACTIVE, INACTIVE = "active", "inactive"


def rule_target(doc: dict[str, Any], key: str) -> EntityPath:
    ref = doc[key]
    return EntityPath(ref["namespace"], ref["name"], ref.get("package"))


def _ref(path: EntityPath) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": path.namespace, "name": path.name}
    if path.package:
        out["package"] = path.package
    return out


class Rules:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _reference(self, namespace: str, body: dict[str, Any], key: str) -> EntityPath:
        value = body.get(key)
        if isinstance(value, dict):  # {"path": "ns/pkg", "name": "x"} as records show them
            value = f"/{value.get('path', namespace)}/{value.get('name', '')}"
        if not isinstance(value, str) or not value:
            raise BadRequest(f"The rule needs a '{key}' name.")
        return parse_reference(namespace, value)

    async def put(self, namespace: str, name: str, body: dict[str, Any], overwrite: bool) -> Entity:
        check_name(name, "rule name")

        async def build(old: dict[str, Any] | None) -> dict[str, Any]:
            doc = common_fields(body, old)
            if old is not None and "trigger" not in body:
                doc["trigger"], doc["action"] = old["trigger"], old["action"]
            else:
                trigger = self._reference(namespace, body, "trigger")
                action = self._reference(namespace, body, "action")
                if await self.store.get_entity(trigger.namespace, TRIGGERS, trigger.path) is None:
                    raise NotFound(f"The trigger '{trigger.qualified}' does not exist.")
                doc["trigger"], doc["action"] = _ref(trigger), _ref(action)
            doc["status"] = (old or {}).get("status", ACTIVE)
            return doc

        return await entities.upsert(self.store, namespace, RULES, name, overwrite, build)

    async def set_status(self, namespace: str, name: str, status: Any) -> Entity:
        if status not in (ACTIVE, INACTIVE):
            raise BadRequest("The rule status must be 'active' or 'inactive'.")

        async def build(old: dict[str, Any] | None) -> dict[str, Any]:
            assert old is not None
            return {**old, "status": status}

        await entities.get(self.store, namespace, RULES, name)
        return await entities.upsert(self.store, namespace, RULES, name, True, build)

    async def get(self, namespace: str, name: str) -> Entity:
        return await entities.get(self.store, namespace, RULES, name)

    async def page(self, namespace: str, skip: int, limit: int) -> list[Entity]:
        return await self.store.list_entities(namespace, RULES, skip, limit)

    async def count(self, namespace: str) -> int:
        return await self.store.count_entities(namespace, RULES)

    async def delete(self, namespace: str, name: str) -> Entity:
        return await entities.delete(self.store, namespace, RULES, name)

    async def of_trigger(self, namespace: str, trigger: str) -> list[Entity]:
        """Every rule of the namespace that names this trigger."""
        rules = await self.store.list_entities(namespace, RULES, 0, 100_000)
        return [
            rule
            for rule in rules
            if rule.doc["trigger"]["namespace"] == namespace
            and rule_target(rule.doc, "trigger").path == trigger
        ]
