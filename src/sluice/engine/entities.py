"""What every entity kind shares: create-or-update with versions, get, delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sluice.errors import BadRequest, Conflict, NotFound
from sluice.records import Entity
from sluice.store.base import Store
from sluice.timing import now_ms

DocBuilder = Callable[[dict[str, Any] | None], Awaitable[dict[str, Any]]]


def bump(version: str) -> str:
    major, minor, patch = (int(p) for p in version.split("."))
    return f"{major}.{minor}.{patch + 1}"


def key_values(value: Any, field: str) -> list[dict[str, Any]]:
    """OpenWhisk's `[{"key": ..., "value": ...}]` lists, checked."""
    if not isinstance(value, list):
        raise BadRequest(f"The field '{field}' must be an array of key/value objects.")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise BadRequest(f"Each entry of '{field}' must be an object with a string 'key'.")
        entry: dict[str, Any] = {"key": item["key"], "value": item.get("value")}
        if item.get("init") is True:
            entry["init"] = True
        out.append(entry)
    return out


def common_fields(body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """parameters, annotations and publish: given ones replace, absent ones are kept."""
    doc: dict[str, Any] = {}
    for field in ("parameters", "annotations"):
        doc[field] = key_values(body[field], field) if field in body else (old or {}).get(field, [])
    publish = body.get("publish", (old or {}).get("publish", False))
    if not isinstance(publish, bool):
        raise BadRequest("The field 'publish' must be a boolean.")
    doc["publish"] = publish
    return doc


async def upsert(
    store: Store,
    namespace: str,
    collection: str,
    name: str,
    overwrite: bool,
    build: DocBuilder,
) -> Entity:
    """Create `name`, or replace it when `overwrite`; its doc comes from `build(old doc)`."""
    old = await store.get_entity(namespace, collection, name)
    if old is not None and not overwrite:
        raise Conflict()
    doc = await build(old.doc if old else None)
    entity = Entity(
        namespace=namespace,
        collection=collection,
        name=name,
        version=bump(old.version) if old else "0.0.1",
        updated=now_ms(),
        doc=doc,
    )
    await store.put_entity(entity, replaces=old.version if old else None)
    return entity


async def get(store: Store, namespace: str, collection: str, name: str) -> Entity:
    entity = await store.get_entity(namespace, collection, name)
    if entity is None:
        raise NotFound()
    return entity


async def delete(store: Store, namespace: str, collection: str, name: str) -> Entity:
    entity = await store.delete_entity(namespace, collection, name)
    if entity is None:
        raise NotFound()
    return entity
