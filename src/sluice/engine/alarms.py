"""The /whisk.system/alarms feeds: `alarm` (cron), `once` (date) and `interval` (minutes).

Feed actions are built in: invoking one with a lifecycleEvent (CREATE, DELETE, READ, UPDATE,
PAUSE, UNPAUSE) manages a schedule stored beside the trigger. A fire's activation id is
derived from the schedule and the slot it fires for, so a restart between a fire and the
schedule's advance cannot fire the same slot twice; the derivation is keyed with the
platform secret, so the id cannot be computed by anyone who knows the schedule.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, croniter

from sluice.call_meta import CallMeta
from sluice.engine import entities
from sluice.engine.actions import ACTIONS, PACKAGES
from sluice.engine.functions import Function
from sluice.engine.names import parse_reference
from sluice.engine.rules import TRIGGERS
from sluice.engine.system import SYSTEM, ensure_system_namespace, put_if_absent
from sluice.engine.triggers import Triggers
from sluice.errors import BadRequest, Conflict, Forbidden, NotFound
from sluice.ids import CallId
from sluice.records import Entity
from sluice.store.base import Store
from sluice.timing import now_ms

PACKAGE = "alarms"
FEEDS = ("alarm", "once", "interval")
BUILTIN_KIND = "sluice:feed"
SCHEDULES = "schedules"
#: the last instant a schedule may name (9999-12-31T23:59:59.999Z): dates are epoch ms
LAST_MS = 253_402_300_799_999


def is_feed(function: Function) -> bool:
    return function.kind == BUILTIN_KIND


_WHOLE_NUMBER = re.compile(r"\s*[+-]?\d+\s*")


def whole_minutes(value: Any) -> int | None:
    """`minutes` as upstream's feed takes it: a whole number, also as a string or a float
    (`aio ... --param minutes 1` sends "1"); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    return None


def _delete_after_fire(value: Any) -> bool | str:
    """`deleteAfterFire` as upstream's feed takes it: false, true or rules, in any case, as a
    boolean or a string (so the string "false" is false)."""
    if value is None:
        return False
    told = str(value).strip().lower()
    if told not in ("false", "true", "rules"):
        raise BadRequest("deleteAfterFire parameter must be one of [false, true, rules].")
    return {"false": False, "true": True}.get(told, told)


def _time(value: Any, what: str) -> int | None:
    """Epoch ms from epoch ms or an ISO 8601 date (UTC unless it says otherwise)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= LAST_MS:  # nan too
            raise BadRequest(f"The parameter '{what}' must be a date from 1970 to 9999.")
        return int(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return _time(parsed.timestamp() * 1000, what)
    raise BadRequest(f"The parameter '{what}' must be a date (ISO 8601) or epoch milliseconds.")


def next_fire(doc: dict[str, Any], after_ms: int) -> int | None:
    """The first slot strictly after `after_ms`, within start/stop dates; None when done."""
    start, stop = doc.get("startDate"), doc.get("stopDate")
    after = max(after_ms, (start - 1) if start else after_ms)
    feed = doc["feed"]
    if feed == "once":
        slot = int(doc["date"])
        return slot if slot > after_ms and doc.get("fired", 0) == 0 else None
    if feed == "interval":
        period = doc["minutes"] * 60_000
        origin = start or doc["created"]
        steps = max((after - origin) // period + 1, 1)
        slot = origin + steps * period
    else:
        zone = ZoneInfo(doc.get("timezone") or "UTC")
        base = datetime.fromtimestamp(after / 1000, tz=zone)
        slot = int(croniter(doc["cron"], base).get_next(float) * 1000)
    if stop is not None and slot > stop:
        return None
    return slot


class Alarms:
    def __init__(self, store: Store, triggers: Triggers, platform_secret: bytes) -> None:
        self.store = store
        self.triggers = triggers
        self.platform_secret = platform_secret

    async def install(self) -> None:
        """Make the published /whisk.system/alarms package and its feed actions exist."""
        await ensure_system_namespace(self.store)
        if await self.store.get_entity(SYSTEM, PACKAGES, PACKAGE) is None:
            doc = {
                "parameters": [],
                "annotations": [{"key": "description", "value": "Alarms and periodic triggers"}],
                "publish": True,
                "binding": {},
            }
            await put_if_absent(
                self.store, Entity(SYSTEM, PACKAGES, PACKAGE, "0.0.1", now_ms(), doc)
            )
        for feed in FEEDS:
            if await self.store.get_entity(SYSTEM, ACTIONS, f"{PACKAGE}/{feed}") is None:
                doc = {
                    "exec": {"kind": BUILTIN_KIND, "code": feed, "binary": False},
                    "limits": {"timeout": 60_000, "memory": 128, "logs": 0, "concurrency": 1},
                    "parameters": [],
                    "annotations": [
                        {"key": "feed", "value": True},
                        {"key": "exec", "value": BUILTIN_KIND},
                    ],
                    "publish": True,
                }
                entity = Entity(SYSTEM, ACTIONS, f"{PACKAGE}/{feed}", "0.0.1", now_ms(), doc)
                await put_if_absent(self.store, entity)

    # The feed actions ----------------------------------------------------------------------
    async def lifecycle(self, caller: str, feed: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one lifecycle event of a feed action for `caller`; returns the action result."""
        event = str(params.get("lifecycleEvent", "")).upper()
        trigger_name = params.get("triggerName")
        if not isinstance(trigger_name, str):
            raise BadRequest("The feed needs 'triggerName'.")
        trigger = parse_reference(caller, trigger_name)
        if trigger.namespace != caller:
            raise Forbidden()
        name = trigger.path
        if event == "CREATE":
            await entities.get(self.store, caller, TRIGGERS, name)
            doc = self._schedule(feed, params)
            await entities.upsert(self.store, caller, SCHEDULES, name, True, _const(doc))
            return {"status": "success", "next": doc["next"]}
        if event == "DELETE":
            await entities.delete(self.store, caller, SCHEDULES, name)
            return {"status": "success"}
        if event == "READ":
            schedule = await entities.get(self.store, caller, SCHEDULES, name)
            return {"config": schedule.doc, "status": schedule.doc["status"]}
        if event in ("PAUSE", "UNPAUSE", "UPDATE"):
            schedule = await entities.get(self.store, caller, SCHEDULES, name)
            doc = dict(schedule.doc)
            if event == "UPDATE":
                merged = {k: v for k, v in doc.items() if k not in ("next", "fired")}
                doc = self._schedule(doc["feed"], {**merged, **params})
            else:
                doc["status"] = "paused" if event == "PAUSE" else "active"
            await entities.upsert(self.store, caller, SCHEDULES, name, True, _const(doc))
            return {"status": "success"}
        raise BadRequest(f"Unknown lifecycleEvent '{event}'.")

    def _schedule(self, feed: str, params: dict[str, Any]) -> dict[str, Any]:
        payload = params.get("trigger_payload", {})
        if isinstance(payload, str):
            payload = {"payload": payload}
        doc: dict[str, Any] = {
            "feed": feed,
            "payload": payload if isinstance(payload, dict) else {},
            "startDate": _time(params.get("startDate"), "startDate"),
            "stopDate": _time(params.get("stopDate"), "stopDate"),
            "status": "active",
            "created": now_ms(),
            "fired": 0,
        }
        if feed == "alarm":
            cron, zone = params.get("cron"), params.get("timezone") or "UTC"
            if not isinstance(cron, str) or not croniter.is_valid(cron):
                raise BadRequest(f"The cron expression '{cron}' is not valid.")
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a long name
                raise BadRequest(f"The timezone '{zone}' is not known.") from exc
            doc.update(cron=cron, timezone=zone)
        elif feed == "once":
            date = _time(params.get("date"), "date")
            if date is None:
                raise BadRequest("The 'once' feed needs a 'date'.")
            doc.update(date=date, deleteAfterFire=_delete_after_fire(params.get("deleteAfterFire")))
        else:
            minutes = whole_minutes(params.get("minutes"))
            if minutes is None or not 1 <= minutes <= LAST_MS // 60_000:
                raise BadRequest("The 'interval' feed needs 'minutes', a whole number from 1.")
            doc["minutes"] = minutes
        try:
            doc["next"] = next_fire(doc, now_ms())
        except (CroniterBadCronError, ValueError, OverflowError) as exc:
            raise BadRequest(str(exc)) from exc
        if doc["next"] is not None and doc["next"] > LAST_MS:
            raise BadRequest("The schedule's next alarm is past the year 9999.")
        return doc

    # Firing -------------------------------------------------------------------------------
    async def due(self, now: int) -> list[Entity]:
        namespaces = [ns.name for ns in await self.store.list_namespaces()]
        out: list[Entity] = []
        for namespace in namespaces:
            for schedule in await self.store.list_entities(namespace, SCHEDULES, 0, 100_000):
                doc = schedule.doc
                if doc["status"] == "active" and doc.get("next") is not None and doc["next"] <= now:
                    out.append(schedule)
        return out

    async def fire_due(self, now: int) -> int:
        """Fire every schedule whose slot has come; a missed stretch fires once. Returns
        how many fired."""
        fired = 0
        for schedule in await self.due(now):
            doc = schedule.doc
            slot = doc["next"]
            fire_id = CallId.derived(
                slot, f"{schedule.namespace}/{schedule.name}/{slot}", self.platform_secret
            )
            try:
                await self.triggers.fire(
                    schedule.namespace,
                    schedule.name,
                    dict(doc["payload"]),
                    0,
                    CallMeta(subject=schedule.namespace, alarm=doc["feed"]),
                    fire_id=fire_id,
                )
                fired += 1
            except Conflict:
                pass  # this slot was fired before a restart: only advance
            except NotFound:
                await self.store.delete_entity(schedule.namespace, SCHEDULES, schedule.name)
                continue
            await self._advance(schedule, now)
        return fired

    async def _advance(self, schedule: Entity, now: int) -> None:
        doc = {**schedule.doc, "fired": schedule.doc.get("fired", 0) + 1}
        doc["next"] = next_fire(doc, now)
        if doc["next"] is None and doc.get("deleteAfterFire"):
            await self.store.delete_entity(schedule.namespace, SCHEDULES, schedule.name)
            return
        await entities.upsert(
            self.store, schedule.namespace, SCHEDULES, schedule.name, True, _const(doc)
        )


def _const(doc: dict[str, Any]) -> entities.DocBuilder:
    async def build(old: dict[str, Any] | None) -> dict[str, Any]:
        return doc

    return build
