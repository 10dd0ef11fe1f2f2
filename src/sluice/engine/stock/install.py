"""Make /whisk.system/utils and /whisk.system/samples hold this version's actions: missing ones
are created and changed ones (new code, or a new default Node.js kind) replaced; unchanged ones
are left alone so their warm processes stay warm."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from sluice.engine.actions import ACTIONS, PACKAGES, Actions
from sluice.engine.entities import bump
from sluice.engine.stock.catalog import PACKAGES as STOCK
from sluice.engine.stock.catalog import StockAction, StockPackage
from sluice.engine.system import SYSTEM, ensure_system_namespace
from sluice.errors import BadRequest, Conflict
from sluice.records import Entity
from sluice.store.base import Store
from sluice.timing import now_ms

log = logging.getLogger("sluice.stock")

HERE = Path(__file__).parent
KIND = "nodejs:default"
LIMITS = {"timeout": 60_000, "memory": 256}


def _package_doc(package: StockPackage) -> dict[str, Any]:
    return {
        "parameters": [],
        "annotations": [{"key": "description", "value": package.description}],
        "publish": True,
        "binding": {},
    }


class StockPackages:
    def __init__(self, store: Store, actions: Actions) -> None:
        self.store = store
        self.actions = actions

    async def install(self) -> None:
        await ensure_system_namespace(self.store)
        for package in STOCK:
            try:
                docs = {
                    action.name: self._action_doc(package, action) for action in package.actions
                }
            except BadRequest as exc:  # no Node.js here: nothing of the package could run
                log.warning("/%s/%s is not installed: %s", SYSTEM, package.name, exc.message)
                continue
            await self._put(PACKAGES, package.name, _package_doc(package))
            for name, doc in docs.items():
                await self._put(ACTIONS, f"{package.name}/{name}", doc)

    def _action_doc(self, package: StockPackage, action: StockAction) -> dict[str, Any]:
        code = (HERE / package.name / f"{action.name}.js").read_text()
        body = {
            "exec": {"kind": KIND, "code": code},
            "limits": LIMITS,
            "annotations": action.annotations(),
            "publish": True,
        }
        return self.actions.validate(body, None)

    async def _put(self, collection: str, name: str, doc: dict[str, Any]) -> None:
        old = await self.store.get_entity(SYSTEM, collection, name)
        if old is not None and old.doc == doc:
            return
        version = bump(old.version) if old is not None else "0.0.1"
        entity = Entity(SYSTEM, collection, name, version, now_ms(), doc)
        with contextlib.suppress(Conflict):  # another server installed it at the same time
            await self.store.put_entity(entity, replaces=old.version if old else None)
