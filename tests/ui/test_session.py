"""The dashboard's session tokens: what a token signs, and every way one is refused."""

from __future__ import annotations

from sluice.records import Namespace
from sluice.ui import session

SECRET = b"s" * 32
GUEST = Namespace("guest", "0b6f8a52-4c1e-4a4e-9f0e-3c2b1a0d9e8f", "hash", 3, 0)


def test_a_token_names_the_namespace_and_its_key_generation() -> None:
    token = session.issue(GUEST, SECRET, now=1_000)
    assert session.read(token, SECRET, now=1_001) == (GUEST.uuid, 3)
    assert "hash" not in token


def test_an_expired_token_is_refused() -> None:
    token = session.issue(GUEST, SECRET, now=1_000)
    assert session.read(token, SECRET, now=1_000 + session.LIFETIME_MS - 1) is not None
    assert session.read(token, SECRET, now=1_000 + session.LIFETIME_MS) is None


def test_a_changed_token_or_another_secret_is_refused() -> None:
    token = session.issue(GUEST, SECRET, now=1_000)
    payload, _, signature = token.rpartition(".")
    uuid, generation, expires = payload.split(".")
    later = f"{uuid}.{generation}.{int(expires) * 10}"
    assert session.read(f"{later}.{signature}", SECRET, now=1_001) is None
    other = f"{uuid}.{int(generation) + 1}.{expires}"
    assert session.read(f"{other}.{signature}", SECRET, now=1_001) is None
    assert session.read(token, b"t" * 32, now=1_001) is None
    for malformed in ("", ".", "a.b", "a.b.c.d.e", f"{uuid}.x.{expires}.{signature}"):
        assert session.read(malformed, SECRET, now=1_001) is None
