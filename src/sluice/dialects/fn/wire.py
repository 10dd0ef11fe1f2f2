"""Fn's JSON: apps, routes and calls as the v1 API shows them."""

from __future__ import annotations

from typing import Any

from sluice.dialects.fn.fields import route_path
from sluice.dialects.fn.model import FnApp, FnRoute
from sluice.records import Call, CallState
from sluice.timing import rfc3339_ms

#: what Fn shows for a time not reached yet
ZERO_TIME = "0001-01-01T00:00:00.000Z"

STATUS = {
    CallState.QUEUED: "queued",
    CallState.RUNNING: "running",
    CallState.SUCCESS: "success",
    CallState.APPLICATION_ERROR: "error",
    CallState.DEVELOPER_ERROR: "error",
    CallState.PLATFORM_ERROR: "error",
    CallState.TIMEOUT: "timeout",
    CallState.CANCELLED: "cancelled",
}


def timestamp(epoch_ms: int | None) -> str:
    return rfc3339_ms(epoch_ms) if epoch_ms is not None else ZERO_TIME


def app(found: FnApp) -> dict[str, Any]:
    return {
        "name": found.name,
        "config": found.config,
        "created_at": timestamp(found.created),
        "updated_at": timestamp(found.updated),
    }


def route(found: FnRoute) -> dict[str, Any]:
    fields = found.fields
    return {
        "app_name": found.app,
        "path": fields.path,
        "image": fields.image,
        "memory": fields.memory,
        "type": fields.type,
        "format": fields.format,
        "timeout": fields.timeout,
        "idle_timeout": fields.idle_timeout,
        "headers": fields.headers,
        "config": fields.config,
        "created_at": timestamp(found.created),
        "updated_at": timestamp(found.updated),
        # Sluice's own: how it runs the function
        "runtime": fields.runtime,
        "cmd": fields.cmd,
        "version": found.version,
        "build": found.build,
    }


def call_app(call: Call) -> str:
    return call.path.partition("/")[0]


def call_path(call: Call) -> str:
    return route_path(call.path.partition("/")[2] or call.path)


def call(found: Call) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": found.id.ulid,
        "status": STATUS[found.state],
        "app_name": call_app(found),
        "path": call_path(found),
        "created_at": timestamp(found.created),
        "started_at": timestamp(found.started),
        "completed_at": timestamp(found.ended if found.state.terminal else None),
    }
    message = error_message(found)
    if message:
        out["error"] = message
    return out


def error_message(found: Call) -> str:
    if found.state in (CallState.SUCCESS, CallState.QUEUED, CallState.RUNNING):
        return ""
    result = (found.record or {}).get("result")
    if isinstance(result, dict) and isinstance(result.get("error"), str):
        return str(result["error"])
    return ""


def log_text(found: Call) -> str:
    """The call's stdout and stderr lines, without OpenWhisk's timestamp and stream."""
    lines = (found.record or {}).get("logs") or []
    out = []
    for line in lines:
        _, _, rest = str(line).partition(" ")
        stream, sep, text = rest.partition(": ")
        out.append(text if sep and stream in ("stdout", "stderr") else str(line))
    return "".join(f"{line}\n" for line in out)
