"""Namespace keys: `<uuid>:<64 characters>`, stored only as hashes.

A user's key is random. Functions get a second key of their namespace derived from the
platform secret and the key's generation, so it is never stored anywhere and a rotation
retires both.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import uuid as uuidlib
from dataclasses import dataclass

from sluice.records import Namespace

_KEY_CHARS = 64
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


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
        if not _CANONICAL_UUID.match(uuid):  # the form keys are made in; others are rarer
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


def verify(key: Key, namespace: Namespace | None, platform_secret: bytes) -> bool:
    """Whether `key` is the namespace's key or its function key. Both comparisons are always
    made, in constant time, on bytes (a secret may hold any character): against a namespace
    that cannot match when the uuid is nobody's (None), so the work done on a wrong secret
    tells neither how much of it was right nor whether its uuid exists."""
    target = namespace or _nobody(key.uuid)
    given = key.secret.encode()
    user = hmac.compare_digest(_hash_recent(key.secret).encode(), target.key_hash.encode())
    derived = function_key(target, platform_secret).secret.encode()
    function = hmac.compare_digest(given, derived)
    return namespace is not None and key.uuid == namespace.uuid and (user | function)


def _nobody(uuid: str) -> Namespace:
    """A namespace no key matches: its hash is of no secret, its generation never issued."""
    return Namespace("", uuid, "sha256:" + "0" * 64, 0, 0)
