"""Claim checks: a call's parameters over the queue's limit (SLUICE_REQUEST_MAX_BYTES) are
stored aside, in the same write as the call, and the call carries a small ticket instead;
the worker redeems it before running the call. Up to SLUICE_CLAIM_CHECK_MAX_BYTES, for the
routes that allow it (OpenFaaS's).

A request body (the usual reason) is stored as its bytes, and the ticket says how the
call's `__ow_body` carries it: what is stored is the body's size, not its base64 (4/3 of
it) or its JSON string (six bytes for a NUL). Other parameters are stored as JSON."""

from __future__ import annotations

from typing import Any

import orjson

from sluice.config import Settings
from sluice.envelope import ENCODINGS, Body
from sluice.errors import NotFound, TooLarge
from sluice.ids import CallId
from sluice.store.base import Store

#: the parameter of a call whose parameters (or body) are stored aside
TICKET = "__sluice_claim_check"


def too_large(size: int, limit: int) -> TooLarge:
    return TooLarge(f"The request content was too large ({size} > {limit} bytes).")


def check(
    call_id: CallId,
    params: dict[str, Any],
    size: int,
    settings: Settings,
    allowed: bool,
    body: Body | None = None,
) -> tuple[dict[str, Any], bytes | None]:
    """The parameters to queue (`body`'s among them, unless it is stored aside) and what
    is stored aside (None: nothing). TooLarge past the queue's limit when claim checks are
    not allowed, or past their own limit."""
    if size <= settings.request_max_bytes:
        return ({**params, **body.params()} if body is not None else params), None
    if not allowed or settings.claim_check_max_bytes <= settings.request_max_bytes:
        raise too_large(size, settings.request_max_bytes)
    if size > settings.claim_check_max_bytes:
        raise too_large(size, settings.claim_check_max_bytes)
    if body is not None:
        ticket = {"id": call_id.hex, "bytes": len(body.data), "body": body.encoding}
        return {**params, TICKET: ticket}, body.data
    blob = orjson.dumps(params)
    if len(blob) > settings.claim_check_max_bytes:
        raise too_large(len(blob), settings.claim_check_max_bytes)
    return {TICKET: {"id": call_id.hex, "bytes": len(blob)}}, blob


async def redeem(store: Store, params: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The call's real parameters (as given, unless they hold a ticket). A ticket counts
    only when it names a call of `namespace`: one a caller wrote into its own parameters
    naming another namespace's call (or none) is an ordinary parameter, and reads nothing."""
    ticket = params.get(TICKET)
    if not isinstance(ticket, dict):
        return params
    encoding = ticket.get("body")
    if encoding not in ENCODINGS and len(params) != 1:
        return params
    call_id = CallId.parse(str(ticket.get("id", "")))
    owner = await store.get_call(call_id) if call_id is not None else None
    if call_id is None or owner is None or owner.namespace != namespace:
        return params
    blob = await store.get_blob(call_id)
    if blob is None:
        raise NotFound("The call's parameters stored aside are gone.")
    if encoding in ENCODINGS:
        rest = {key: value for key, value in params.items() if key != TICKET}
        return {**rest, **Body(blob, encoding).params()}
    stored: dict[str, Any] = orjson.loads(blob)
    return stored
