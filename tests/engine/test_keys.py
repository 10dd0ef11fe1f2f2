"""Namespace keys: a user key and a function key verify until the namespace's key is rotated,
however often they were verified before (the hashes are remembered, the answers are not)."""

from __future__ import annotations

from sluice.engine.keys import Key, _hash_recent, function_key, hash_secret, new_key, verify
from sluice.records import Namespace

SECRET = b"platform-secret"


def test_keys_verify_until_a_rotation_and_the_old_ones_never_after() -> None:
    old = new_key()
    before = Namespace("guest", old.uuid, hash_secret(old.secret), 1, 0)
    old_function = function_key(before, SECRET)
    for _ in range(2):
        assert verify(old, before, SECRET)
        assert verify(old_function, before, SECRET)

    new = new_key(old.uuid)
    after = Namespace("guest", old.uuid, hash_secret(new.secret), 2, 0)
    for _ in range(2):
        assert verify(new, after, SECRET)
        assert verify(function_key(after, SECRET), after, SECRET)
        assert not verify(old, after, SECRET)
        assert not verify(old_function, after, SECRET)
    assert function_key(after, SECRET) != old_function
    assert not verify(old, after, b"another-secret")


def test_a_secret_of_any_characters_is_only_wrong() -> None:
    key = new_key()
    namespace = Namespace("guest", key.uuid, hash_secret(key.secret), 1, 0)
    for secret in ("é" * 64, "\x00" * 64, "🔑" * 64):
        assert not verify(Key(key.uuid, secret), namespace, SECRET)


def test_an_unknown_uuid_gets_the_same_work_as_a_wrong_secret() -> None:
    """No early exit: the secret of a key whose uuid is nobody's is hashed and compared
    too (with a namespace that cannot match), so its answer takes the same path."""
    guess = new_key()
    before = _hash_recent.cache_info().misses
    assert not verify(guess, None, SECRET)
    assert _hash_recent.cache_info().misses == before + 1
    # and a key that would verify for a namespace of that uuid does not without one
    real = Namespace("guest", guess.uuid, hash_secret(guess.secret), 1, 0)
    assert verify(guess, real, SECRET)
    assert not verify(guess, None, SECRET)
    assert not verify(function_key(real, SECRET), None, SECRET)
