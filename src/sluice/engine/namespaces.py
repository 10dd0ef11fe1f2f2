"""Namespaces and who may act in them."""

from __future__ import annotations

from sluice.engine.keys import Key, function_key, hash_secret, new_key, verify
from sluice.engine.names import check_name
from sluice.errors import NotFound
from sluice.records import Namespace
from sluice.store.base import Store
from sluice.timing import now_ms


class Namespaces:
    def __init__(self, store: Store, platform_secret: bytes) -> None:
        self.store = store
        self.platform_secret = platform_secret

    async def create(self, name: str) -> Key:
        check_name(name, "namespace")
        key = new_key()
        await self.store.create_namespace(
            Namespace(name, key.uuid, hash_secret(key.secret), 1, now_ms())
        )
        return key

    async def rotate(self, name: str) -> Key:
        """A new random key; the old key and every function key of the namespace stop working."""
        namespace = await self.store.get_namespace(name)
        if namespace is None:
            raise NotFound(f"namespace {name} does not exist")
        key = new_key(namespace.uuid)
        await self.store.set_namespace_key(name, hash_secret(key.secret), namespace.generation + 1)
        return key

    async def authenticate(self, text: str) -> Namespace | None:
        key = Key.parse(text)
        if key is None:
            return None
        namespace = await self.store.namespace_by_uuid(key.uuid)
        # verified even when the uuid is nobody's: the same work either way
        return namespace if verify(key, namespace, self.platform_secret) else None

    def function_key(self, namespace: Namespace) -> Key:
        return function_key(namespace, self.platform_secret)

    async def get(self, name: str) -> Namespace | None:
        return await self.store.get_namespace(name)

    async def all(self) -> list[Namespace]:
        return await self.store.list_namespaces()

    async def delete(self, name: str) -> bool:
        return await self.store.delete_namespace(name)
