"""Waiting on calls through Sluice's own long-poll route, with a deadline."""

from __future__ import annotations

import time
from typing import Any

import httpx

from sluice.records import TERMINAL_STATES


def wait_call(client: httpx.Client, call_id: str, timeout: float = 60) -> dict[str, Any]:
    """The call's live state once terminal; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"call {call_id} did not end within {timeout} s")
        state = client.get(
            f"/sluice/v1/namespaces/_/calls/{call_id}", params={"wait": min(left, 30)}
        )
        assert state.status_code == 200, state.text
        body: dict[str, Any] = state.json()
        if body["state"] in TERMINAL_STATES:
            return body
