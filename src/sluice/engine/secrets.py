"""Secrets: named values of one namespace that its functions read as files.

A secret is stored as an entity of the collection `secrets` whose doc holds only the value
sealed with AES-GCM under a key derived (HKDF-SHA256) from the platform secret. The
namespace and name are the sealed value's associated data, so a sealed value copied to
another namespace's row, or renamed, does not open. Values leave this module only for a
function's sandbox: listings give names, and nothing here logs a value.

A function names the secrets it reads in its `secrets` annotation (a list of names); they
are mounted read-only at /var/openfaas/secrets/<name> in its processes, for calls of its own
namespace only.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sluice.engine import entities
from sluice.errors import BadRequest, Conflict, NotFound
from sluice.records import Entity
from sluice.store.base import Store
from sluice.timing import now_ms

#: the entity collection secrets are kept in
SECRETS = "secrets"
#: an action's annotation: the names of the secrets its processes see
SECRETS_ANNOTATION = "secrets"
#: a secret's name: a DNS-1123 subdomain, as OpenFaaS (Kubernetes) takes them
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NAME_MAX = 253
#: a Kubernetes Secret holds at most 1 MiB
VALUE_MAX_BYTES = 1024 * 1024
#: secrets one function may read at most
PER_FUNCTION_MAX = 64
_SEALED = "v1:"
_LISTED_MAX = 10_000


class MissingSecret(NotFound):
    """A secret a function needs does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f'secret "{name}" not found')
        self.name = name


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name may not be empty")
    if len(name) > NAME_MAX or not _NAME.match(name):
        raise BadRequest(
            f"Invalid secret name '{name[:80]}': lower-case letters, digits, '-' and '.',"
            " starting and ending with a letter or digit (at most 253 characters)."
        )
    return name


def wanted_names(value: Any) -> list[str]:
    """The names a `secrets` annotation (or an OpenFaaS deployment's `secrets`) lists."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("The secrets a function reads must be an array of names.")
    if len(value) > PER_FUNCTION_MAX:
        raise BadRequest(f"A function may read at most {PER_FUNCTION_MAX} secrets.")
    return sorted({check_name(v) for v in value})


class SecretBox:
    """Seals and opens values with a key only the platform secret gives."""

    def __init__(self, platform_secret: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"sluice secrets v1"
        ).derive(platform_secret)
        self._aead = AESGCM(key)

    @staticmethod
    def _bound(namespace: str, name: str) -> bytes:
        return f"{namespace}\0{name}".encode()

    def seal(self, namespace: str, name: str, value: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value, self._bound(namespace, name))
        return _SEALED + base64.b64encode(nonce + sealed).decode()

    def open(self, namespace: str, name: str, text: str) -> bytes:
        if not text.startswith(_SEALED):
            raise ValueError("not a sealed value")
        raw = base64.b64decode(text[len(_SEALED) :])
        return self._aead.decrypt(raw[:12], raw[12:], self._bound(namespace, name))


@dataclass(frozen=True)
class SecretValues:
    """The values of the secrets one function reads, and what identifies their versions
    (so that a process started with older values is not reused). Its repr shows names only."""

    values: Mapping[str, bytes]
    version: str

    def __repr__(self) -> str:
        return f"SecretValues(names={sorted(self.values)})"


NO_SECRETS = SecretValues({}, "")


class Secrets:
    def __init__(self, store: Store, platform_secret: bytes) -> None:
        self.store = store
        self.box = SecretBox(platform_secret)

    async def names(self, namespace: str) -> list[str]:
        found = await self.store.list_entities(namespace, SECRETS, 0, _LISTED_MAX)
        return sorted(entity.name for entity in found)

    async def create(self, namespace: str, name: str, value: bytes) -> None:
        """Raises Conflict when it exists."""
        await self._put(namespace, name, value, create=True)

    async def replace(self, namespace: str, name: str, value: bytes) -> None:
        """Raises NotFound when it does not exist."""
        await self._put(namespace, name, value, create=False)

    async def _put(self, namespace: str, name: str, value: bytes, *, create: bool) -> None:
        check_name(name)
        if len(value) > VALUE_MAX_BYTES:
            raise BadRequest(f"A secret's value may hold at most {VALUE_MAX_BYTES} bytes.")
        old = await self.store.get_entity(namespace, SECRETS, name)
        if create and old is not None:
            raise Conflict(f'secret "{name}" already exists')
        if not create and old is None:
            raise MissingSecret(name)
        entity = Entity(
            namespace=namespace,
            collection=SECRETS,
            name=name,
            version=entities.bump(old.version) if old else "0.0.1",
            updated=now_ms(),
            doc={"sealed": self.box.seal(namespace, name, value)},
        )
        await self.store.put_entity(entity, replaces=old.version if old else None)

    async def delete(self, namespace: str, name: str) -> None:
        check_name(name)
        if await self.store.delete_entity(namespace, SECRETS, name) is None:
            raise MissingSecret(name)

    async def require(self, namespace: str, names: Sequence[str]) -> None:
        """Raises MissingSecret for the first of `names` the namespace does not have."""
        for name in names:
            if await self.store.get_entity(namespace, SECRETS, name) is None:
                raise MissingSecret(name)

    async def values(self, namespace: str, names: Sequence[str]) -> SecretValues:
        """The values of `names` in `namespace` (MissingSecret for one it lacks)."""
        if not names:
            return NO_SECRETS
        values: dict[str, bytes] = {}
        versions: list[str] = []
        for name in names:
            entity = await self.store.get_entity(namespace, SECRETS, name)
            if entity is None:
                raise MissingSecret(name)
            try:
                values[name] = self.box.open(namespace, name, entity.doc["sealed"])
            except (InvalidTag, ValueError, KeyError) as exc:
                # another platform secret sealed it, or the row was tampered with
                raise MissingSecret(name) from exc
            versions.append(f"{name}@{entity.version}")
        return SecretValues(values, ",".join(versions))
