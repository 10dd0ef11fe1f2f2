"""Schedule arithmetic of the alarm feeds."""

from __future__ import annotations

from datetime import UTC, datetime

from sluice.engine.alarms import next_fire


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_cron_next_slot_in_its_timezone() -> None:
    doc = {"feed": "alarm", "cron": "0 9 * * *", "timezone": "Europe/Paris"}
    # 09:00 in Paris in November is 08:00 UTC
    assert next_fire(doc, _ms("2026-11-23T07:00:00")) == _ms("2026-11-23T08:00:00")
    assert next_fire(doc, _ms("2026-11-23T08:00:00")) == _ms("2026-11-24T08:00:00")


def test_cron_respects_start_and_stop() -> None:
    doc = {
        "feed": "alarm",
        "cron": "*/5 * * * *",
        "timezone": "UTC",
        "startDate": _ms("2026-11-23T10:00:00"),
        "stopDate": _ms("2026-11-23T10:07:00"),
    }
    assert next_fire(doc, _ms("2026-11-23T09:00:00")) == _ms("2026-11-23T10:00:00")
    assert next_fire(doc, _ms("2026-11-23T10:00:00")) == _ms("2026-11-23T10:05:00")
    assert next_fire(doc, _ms("2026-11-23T10:05:00")) is None


def test_interval_counts_from_its_origin() -> None:
    doc = {"feed": "interval", "minutes": 15, "created": _ms("2026-11-23T10:00:00")}
    assert next_fire(doc, _ms("2026-11-23T10:00:00")) == _ms("2026-11-23T10:15:00")
    assert next_fire(doc, _ms("2026-11-23T10:31:00")) == _ms("2026-11-23T10:45:00")


def test_once_fires_once() -> None:
    doc = {"feed": "once", "date": _ms("2026-11-23T10:00:00"), "fired": 0}
    assert next_fire(doc, _ms("2026-11-23T09:00:00")) == _ms("2026-11-23T10:00:00")
    assert next_fire({**doc, "fired": 1}, _ms("2026-11-23T09:00:00")) is None
