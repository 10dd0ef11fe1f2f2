"""Namespace keys: a user key and a function key verify until the namespace's key is rotated,
however often they were verified before (the hashes are remembered, the answers are not)."""

from __future__ import annotations

from sluice.engine.keys import function_key, hash_secret, new_key, verify
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
