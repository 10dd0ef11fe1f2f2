"""What signs a callback when SLUICE_CALLBACK_SECRET is set: the Standard Webhooks headers
(https://www.standardwebhooks.com), whose signature covers the delivery's id and time with
its body so that a receiver can refuse a replay, and the older X-Sluice-Signature-256 of
the body alone, kept for the receivers that check it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from standardwebhooks import Webhook

SIGNATURE_HEADER = "X-Sluice-Signature-256"
#: Standard Webhooks' headers, named as the spec writes them
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
#: every header that says who signed a callback: a function's answer may not set them
SIGNING_HEADERS = frozenset(
    {SIGNATURE_HEADER.lower(), WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE}
)
_SPEC_PREFIX = "whsec_"


def sign(secret: str, body: bytes) -> str:
    """X-Sluice-Signature-256's value: `sha256=<hex>`, as GitHub and faas-cli write it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_signer(secret: str) -> Webhook:
    """The Standard Webhooks signer of `secret`: one written as the spec's `whsec_<base64>`
    is that key; any other secret's own bytes are the key (a receiver verifies with
    `whsec_` + their base64)."""
    if secret.startswith(_SPEC_PREFIX):
        return Webhook(secret)
    return Webhook(secret.encode())


def webhook_headers(signer: Webhook, message_id: str, now_s: int, body: bytes) -> dict[str, str]:
    """The three headers of one delivery sent at `now_s` (Unix seconds): the id stays the
    same across retries, the timestamp and so the signature are each try's own."""
    when = datetime.fromtimestamp(now_s, tz=UTC)
    return {
        WEBHOOK_ID: message_id,
        WEBHOOK_TIMESTAMP: str(now_s),
        WEBHOOK_SIGNATURE: signer.sign(message_id, when, body),
    }
