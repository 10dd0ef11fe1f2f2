"""The server's own log lines: as text, or (SLUICE_LOG_FORMAT=json) one JSON object a line.

A line about a call (its end in the worker, its callback's delivery, its accept) carries the
call's id, namespace, function and trace id: as fields of the JSON object; the text line
names the call in its message."""

from __future__ import annotations

import logging
from typing import Any

from sluice.observe.trace import Trace

#: the formats SLUICE_LOG_FORMAT names
FORMATS = ("text", "json")


def about(
    call_id: str, namespace: str, function: str | None, trace: Trace | None
) -> dict[str, Any]:
    """The `extra=` of a line about a call: its fields in a JSON line. Said at each line,
    not kept in a context: tasks a call's run starts (a warm process's readers and timers)
    outlive it and serve other calls."""
    return {
        "call_id": call_id,
        "namespace": namespace,
        "function": function,
        "trace_id": trace.trace_id if trace is not None else None,
    }


def handler(log_format: str, process: str = "") -> logging.Handler:
    """A stderr handler in `log_format` ("text" or "json"); `process` names a second process
    (the worker's), as a tag of text lines and a field of JSON ones."""
    out = logging.StreamHandler()
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        static = {"process": process} if process else None
        out.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                static_fields=static,
                timestamp="time",  # ISO 8601, UTC
            )
        )
    else:
        tag = f"[{process}]" if process else ""
        out.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s %(name)s{tag}: %(message)s"))
    return out
