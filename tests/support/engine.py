"""A whole Sluice in the test's own process, with no HTTP in front: the parts wiring.py
composes, on a SQLite file of the test's own (in scripts/test's second pass, a fresh
PostgreSQL database and a JetStream stream of its own), its calls run by its worker on the
real runtime, without a sandbox: the engine's rules are under test here, not isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sluice.config import Settings
from sluice.ids import CallId
from sluice.records import Call, CallState
from sluice.wiring import Sluice
from tests.runtime.helpers import wait_until
from tests.support.nats import remove_stream
from tests.support.postgres import create_database, drop_database
from tests.support.server import TEST_QUEUE, TEST_STORE, shared_node_modules

NAMESPACE = "guest"


def _backends(name: str) -> dict[str, Any]:
    """The store and queue of scripts/test's pass, when it names them."""
    chosen: dict[str, Any] = {}
    if TEST_STORE:
        chosen |= {"store": create_database("sluice_engine", admin=TEST_STORE), "migrate": True}
    if TEST_QUEUE:
        chosen |= {"queue": TEST_QUEUE, "nats_stream": name, "nats_prefix": name.lower()}
    return chosen


@asynccontextmanager
async def in_process(tmp_path: Path, **settings: Any) -> AsyncIterator[Sluice]:
    """A started Sluice with the namespace `guest`; stopped (and its database and stream
    removed) afterwards. `settings` are Settings fields (role="api": no worker, calls stay
    queued for the test to take)."""
    backends = _backends(f"E{CallId.new().hex}")
    fields: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "client_config": tmp_path / "client" / "wskprops",
        "sandbox": "none",
        "stem_cells": 0,
        "metrics": False,
        "node_modules": shared_node_modules(),
        **backends,
        **settings,
    }
    app = Sluice(Settings(**fields))
    await app.start()
    try:
        await app.namespaces.create(NAMESPACE)
        yield app
    finally:
        await app.stop(grace_seconds=1)
        if "store" in backends:
            drop_database(backends["store"], admin=TEST_STORE)
        if "nats_stream" in backends:
            await remove_stream(TEST_QUEUE, backends["nats_stream"])


async def put_python(app: Sluice, name: str, code: str, **body: Any) -> None:
    """A Python action of `code` (its `main`), with more fields (annotations, limits...)."""
    await app.actions.put(
        NAMESPACE, name, {"exec": {"kind": "python:3", "code": code}, **body}, False
    )


async def ended(app: Sluice, call_id: CallId, timeout: float = 30) -> Call:
    """The call once it is terminal; fails after `timeout` seconds."""

    async def terminal() -> Call | None:
        call = await app.calls.get(NAMESPACE, call_id)
        return call if call.state.terminal else None

    return await wait_until(terminal, f"call {call_id.hex} to end", timeout)


async def in_state(app: Sluice, call_id: CallId, state: CallState) -> Call:
    async def reached() -> Call | None:
        call = await app.calls.get(NAMESPACE, call_id)
        return call if call.state is state else None

    return await wait_until(reached, f"call {call_id.hex} {state.value}", 30)


def annotations(pairs: dict[str, str]) -> list[dict[str, str]]:
    """OpenWhisk's key-value list."""
    return [{"key": key, "value": value} for key, value in pairs.items()]
