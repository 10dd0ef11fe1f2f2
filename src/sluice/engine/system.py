"""The `whisk.system` namespace: it owns the packages every namespace may use (alarms, utils,
samples); nobody is given its key."""

from __future__ import annotations

import contextlib
import secrets

from sluice.engine.keys import hash_secret, new_key
from sluice.errors import Conflict
from sluice.records import Entity, Namespace
from sluice.store.base import Store
from sluice.timing import now_ms

SYSTEM = "whisk.system"


async def ensure_system_namespace(store: Store) -> None:
    if await store.get_namespace(SYSTEM) is None:
        key = new_key()
        namespace = Namespace(SYSTEM, key.uuid, hash_secret(secrets.token_hex(32)), 1, now_ms())
        with contextlib.suppress(Conflict):  # another server made it first
            await store.create_namespace(namespace)


async def put_if_absent(store: Store, entity: Entity) -> None:
    with contextlib.suppress(Conflict):
        await store.put_entity(entity, replaces=None)
