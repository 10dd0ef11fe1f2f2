"""The dashboard's sign-in: the namespace key is checked once, then a signed session cookie
stands for it, so the key itself is never stored in the browser, put in a URL or logged.

The cookie names the namespace's uuid and key generation, and when it expires, signed with
a key derived from the platform secret: rotating the namespace's key signs every session
of it out."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sluice.records import Namespace
from sluice.timing import now_ms

COOKIE = "sluice_ui"
#: how long a sign-in lasts
LIFETIME_MS = 12 * 3600 * 1000


def _signing_key(platform_secret: bytes) -> bytes:
    return hmac.new(platform_secret, b"sluice-ui-session", hashlib.sha256).digest()


def _sign(platform_secret: bytes, payload: str) -> str:
    mac = hmac.new(_signing_key(platform_secret), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue(namespace: Namespace, platform_secret: bytes, now: int | None = None) -> str:
    """A session token for `namespace`, good for LIFETIME_MS."""
    expires = (now if now is not None else now_ms()) + LIFETIME_MS
    payload = f"{namespace.uuid}.{namespace.generation}.{expires}"
    return f"{payload}.{_sign(platform_secret, payload)}"


def read(token: str, platform_secret: bytes, now: int | None = None) -> tuple[str, int] | None:
    """The (namespace uuid, key generation) a token signs in, or None when it is forged,
    malformed or expired. The caller checks the generation against the namespace's."""
    payload, _, signature = token.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or not hmac.compare_digest(signature, _sign(platform_secret, payload)):
        return None
    uuid, generation, expires = parts
    if not (generation.isdigit() and expires.isdigit()):
        return None
    if int(expires) <= (now if now is not None else now_ms()):
        return None
    return uuid, int(generation)
