"""Namespace keys: `<uuid>:<64 characters>`, stored only as hashes.

A user's key is random. Functions get a second key of their namespace derived from the
platform secret and the key's generation, so it is never stored anywhere and a rotation
retires both.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid as uuidlib
from dataclasses import dataclass

from sluice.records import Namespace

_KEY_CHARS = 64


@dataclass(frozen=True, slots=True)
class Key:
    uuid: str
    secret: str

    def __str__(self) -> str:
        return f"{self.uuid}:{self.secret}"

    @classmethod
    def parse(cls, text: str) -> Key | None:
        uuid, sep, secret = text.partition(":")
        if not sep or len(secret) != _KEY_CHARS:
            return None
        try:
            uuidlib.UUID(uuid)
        except ValueError:
            return None
        return cls(uuid, secret)


def new_key(uuid: str | None = None) -> Key:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    secret = "".join(secrets.choice(alphabet) for _ in range(_KEY_CHARS))
    return Key(uuid or str(uuidlib.uuid4()), secret)


def hash_secret(secret: str) -> str:
    # The secret is 64 random characters: a fast hash is as safe as a slow one here.
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


#: Every request hashes its key and every run derives its function key: both are pure
#: functions of their inputs, so recent answers are kept. A rotation changes the stored hash
#: and the generation the callers compare with, so nothing stale is ever accepted.
_hash_recent = functools.lru_cache(maxsize=1024)(hash_secret)


@functools.lru_cache(maxsize=1024)
def _function_secret(uuid: str, generation: int, platform_secret: bytes) -> str:
    message = f"{uuid}:{generation}".encode()
    return hmac.new(platform_secret, message, hashlib.sha256).hexdigest()


def function_key(namespace: Namespace, platform_secret: bytes) -> Key:
    return Key(
        namespace.uuid, _function_secret(namespace.uuid, namespace.generation, platform_secret)
    )


def verify(key: Key, namespace: Namespace, platform_secret: bytes) -> bool:
    if key.uuid != namespace.uuid:
        return False
    if hmac.compare_digest(_hash_recent(key.secret), namespace.key_hash):
        return True
    return hmac.compare_digest(key.secret, function_key(namespace, platform_secret).secret)
