"""Fn v2's ids of apps, functions and triggers. Each names its object (app, app/fn or
app/fn/trigger) in Crockford base32, so an id leads straight to the object, a v1 route has one
too, and no second index has to be kept in step."""

from __future__ import annotations

import base64

from sluice.errors import NotFound

_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans(_STANDARD, _CROCKFORD)
_FROM_CROCKFORD = str.maketrans(_CROCKFORD, _STANDARD)
#: ids are short; a longer one names nothing
_MAX_ID = 1024


def encode(*parts: str) -> str:
    text = base64.b32encode("/".join(parts).encode()).decode().rstrip("=")
    return text.translate(_TO_CROCKFORD)


def decode(text: str, count: int, missing: str) -> list[str]:
    """The `count` names in an id; NotFound(`missing`) when it is not one."""
    if not text or len(text) > _MAX_ID or not all(c in _CROCKFORD for c in text):
        raise NotFound(missing)
    padded = text.translate(_FROM_CROCKFORD) + "=" * (-len(text) % 8)
    try:
        parts = base64.b32decode(padded).decode().split("/")
    except (ValueError, UnicodeDecodeError):
        raise NotFound(missing) from None
    if len(parts) != count or not all(parts):
        raise NotFound(missing)
    return parts


def app_id(app: str) -> str:
    return encode(app)


def fn_id(app: str, fn: str) -> str:
    return encode(app, fn)


def trigger_id(app: str, fn: str, trigger: str) -> str:
    return encode(app, fn, trigger)
