"""Claim checks: a call's parameters over the queue's limit (SLUICE_REQUEST_MAX_BYTES) are
stored aside, in the same write as the call, and the call carries a small ticket instead;
the worker redeems it before running the call. Up to SLUICE_CLAIM_CHECK_MAX_BYTES, for the
routes that allow it (OpenFaaS's)."""

from __future__ import annotations

from typing import Any

import orjson

from sluice.config import Settings
from sluice.errors import NotFound, TooLarge
from sluice.ids import CallId
from sluice.store.base import Store

#: the one parameter of a call whose parameters are stored aside
TICKET = "__sluice_claim_check"


def too_large(size: int, limit: int) -> TooLarge:
    return TooLarge(f"The request content was too large ({size} > {limit} bytes).")


def check(
    call_id: CallId, params: dict[str, Any], size: int, settings: Settings, allowed: bool
) -> tuple[dict[str, Any], bytes | None]:
    """The parameters to queue and what is stored aside (None: nothing). TooLarge past
    the queue's limit when claim checks are not allowed, or past their own limit."""
    if size <= settings.request_max_bytes:
        return params, None
    if not allowed or settings.claim_check_max_bytes <= settings.request_max_bytes:
        raise too_large(size, settings.request_max_bytes)
    if size > settings.claim_check_max_bytes:
        raise too_large(size, settings.claim_check_max_bytes)
    return {TICKET: {"id": call_id.hex, "bytes": size}}, orjson.dumps(params)


async def redeem(store: Store, params: dict[str, Any]) -> dict[str, Any]:
    """The call's real parameters (as given, unless they hold a ticket)."""
    ticket = params.get(TICKET)
    if not isinstance(ticket, dict) or len(params) != 1:
        return params
    call_id = CallId.parse(str(ticket.get("id", "")))
    blob = await store.get_blob(call_id) if call_id is not None else None
    if blob is None:
        raise NotFound("The call's parameters stored aside are gone.")
    stored: dict[str, Any] = orjson.loads(blob)
    return stored
