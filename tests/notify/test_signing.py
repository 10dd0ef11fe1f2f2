"""Callback signatures as Standard Webhooks write them, checked with the spec's reference
library: a `whsec_<base64>` secret is the spec's own, any other secret's bytes are the key."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sluice.notify.signing import webhook_headers, webhook_signer

BODY = b'{"ok":true}'


@pytest.mark.parametrize(
    ("secret", "receiver_secret"),
    [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("plain secret", "whsec_" + base64.b64encode(b"plain secret").decode()),
    ],
)
def test_a_receiver_verifies_with_the_reference_library(secret: str, receiver_secret: str) -> None:
    now = int(time.time())
    headers = webhook_headers(webhook_signer(secret), "msg_1", now, BODY)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(now)
    Webhook(receiver_secret).verify(BODY, headers, json_parse=False)


def test_a_replayed_or_altered_delivery_does_not_verify() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    receiver = Webhook(secret)
    now = int(time.time())
    headers = webhook_headers(webhook_signer(secret), "msg_2", now, BODY)
    stale = webhook_headers(webhook_signer(secret), "msg_2", now - 3600, BODY)
    for bad_body, bad_headers in [
        (BODY, stale),  # an old delivery sent again: too old for the receiver's tolerance
        (BODY, {**headers, "webhook-timestamp": str(now + 1)}),  # its time changed
        (BODY, {**headers, "webhook-id": "msg_3"}),  # its id changed
        (b'{"ok":false}', headers),  # its body changed
    ]:
        with pytest.raises(WebhookVerificationError):
            receiver.verify(bad_body, bad_headers, json_parse=False)
