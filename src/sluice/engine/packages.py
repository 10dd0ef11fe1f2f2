"""Packages: groups of actions sharing parameters, bindings to other packages, and sharing
across namespaces with `publish`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sluice.engine import entities
from sluice.engine.actions import ACTIONS, PACKAGES
from sluice.engine.entities import common_fields
from sluice.engine.names import check_name
from sluice.errors import BadRequest, Conflict, Forbidden, NotFound
from sluice.records import Entity
from sluice.store.base import Store

#: packages of one namespace looked through for its public ones
MAX_LISTED = 10_000


@dataclass(frozen=True, slots=True)
class ResolvedPackage:
    """Where a package's actions really live, and the parameters it lays under them."""

    namespace: str
    name: str
    #: bound package's parameters, overlaid by the binding's own (OpenWhisk's order)
    parameters: dict[str, Any]
    publish: bool


def params_dict(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: item["value"] for item in items if not item.get("init")}


class Packages:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _binding(self, namespace: str, value: Any) -> dict[str, str]:
        if value in (None, {}, False):
            return {}
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("namespace"), str)
            or not isinstance(value.get("name"), str)
        ):
            raise BadRequest("The field 'binding' must be an object with 'namespace' and 'name'.")
        bound = value["namespace"]
        return {"namespace": namespace if bound == "_" else bound, "name": value["name"]}

    async def put(self, namespace: str, name: str, body: dict[str, Any], overwrite: bool) -> Entity:
        check_name(name, "package name")

        async def build(old: dict[str, Any] | None) -> dict[str, Any]:
            doc = common_fields(body, old)
            binding = self._binding(namespace, body["binding"]) if "binding" in body else None
            doc["binding"] = binding if binding is not None else (old or {}).get("binding", {})
            if doc["binding"]:
                await self._check_binding(namespace, doc["binding"])
            return doc

        return await entities.upsert(self.store, namespace, PACKAGES, name, overwrite, build)

    async def _check_binding(self, namespace: str, target: dict[str, str]) -> None:
        bound = await self.store.get_entity(target["namespace"], PACKAGES, target["name"])
        if bound is None:
            raise NotFound(
                f"The bound package '/{target['namespace']}/{target['name']}' does not exist."
            )
        if target["namespace"] != namespace and not bound.doc["publish"]:
            raise Forbidden()
        if bound.doc.get("binding"):
            raise BadRequest("A binding cannot refer to another binding.")

    async def get(self, namespace: str, name: str) -> Entity:
        return await entities.get(self.store, namespace, PACKAGES, name)

    async def readable(self, caller: str, namespace: str, name: str) -> Entity:
        """The package if `caller` may read it: its own, or published by another namespace."""
        entity = await self.get(namespace, name)
        if namespace != caller and not entity.doc["publish"]:
            raise Forbidden()
        return entity

    async def contents(self, namespace: str, name: str) -> list[Entity]:
        return await self.store.list_entities(namespace, ACTIONS, 0, 10_000, prefix=f"{name}/")

    async def page(self, namespace: str, skip: int, limit: int) -> list[Entity]:
        return await self.store.list_entities(namespace, PACKAGES, skip, limit)

    async def count(self, namespace: str) -> int:
        return await self.store.count_entities(namespace, PACKAGES)

    async def _public(self, namespace: str) -> list[Entity]:
        """Another namespace's packages a caller may list: published ones that are not
        bindings (OpenWhisk's public packages view), newest first."""
        every = await self.store.list_entities(namespace, PACKAGES, 0, MAX_LISTED)
        return [p for p in every if p.doc["publish"] and not p.doc.get("binding")]

    async def public_page(self, namespace: str, skip: int, limit: int) -> list[Entity]:
        return (await self._public(namespace))[skip : skip + limit]

    async def public_count(self, namespace: str) -> int:
        return len(await self._public(namespace))

    async def delete(self, namespace: str, name: str, force: bool) -> Entity:
        held = await self.store.count_entities(namespace, ACTIONS, prefix=f"{name}/")
        if held and not force:
            noun = "entity" if held == 1 else "entities"
            raise Conflict(
                f"Package not empty (contains {held} {noun}). Set force param or delete package"
                " contents."
            )
        if held:
            for action in await self.contents(namespace, name):
                await self.store.delete_entity(namespace, ACTIONS, action.name)
        return await entities.delete(self.store, namespace, PACKAGES, name)

    async def resolve(self, caller: str, namespace: str, name: str) -> ResolvedPackage:
        """Follow a binding to the package whose actions run, checking `caller` may use it."""
        package = await self.readable(caller, namespace, name)
        own = params_dict(package.doc["parameters"])
        binding = package.doc.get("binding") or {}
        if not binding:
            return ResolvedPackage(namespace, name, own, package.doc["publish"])
        bound = await self.readable(caller, binding["namespace"], binding["name"])
        merged = {**params_dict(bound.doc["parameters"]), **own}
        return ResolvedPackage(bound.namespace, bound.name, merged, bound.doc["publish"])
