"""What a run's answer means: outcomes, OpenWhisk's error messages, the RunResult."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from sluice.runtime.base import Outcome, RunResult
from sluice.runtime.logs import CallLogs
from sluice.timing import now_ms

NOT_A_DICTIONARY = "The action did not return a dictionary."
EXITED = "The action did not produce a valid response and exited unexpectedly."
BLOCKED = (
    "The action's process was stopped: another call running in it exceeded its time limit"
    " and kept the process from answering."
)
_RESULT_PREFIX = b'{"result":'
_ENVELOPE = len(_RESULT_PREFIX) + 1


#: where Sluice's own files (its runners) are installed, and the process directories under
#: the work dir: neither is told in an error, which an anonymous caller may read
_SLUICE_DIR = str(Path(__file__).resolve().parents[1]) + "/"
_PROCESS_DIR = re.compile(r"(?:/[^\s/'\"]+)+/proc-\d+-[A-Za-z0-9_]+/")


def without_host_paths(message: str) -> str:
    """`/opt/x/src/sluice/runtime/...` as `sluice/runtime/...`, and a function's own files
    as relative to its directory (`action/index.js`)."""
    return _PROCESS_DIR.sub("", message.replace(_SLUICE_DIR, "sluice/"))


def timed_out(timeout_ms: int) -> str:
    return f"The action exceeded its time limits of {timeout_ms} milliseconds."


def out_of_memory(memory_mb: int) -> str:
    return f"The action exceeded its memory limit of {memory_mb} MB."


def init_failed(detail: str) -> str:
    return f"Initialization has failed due to: {without_host_paths(detail)}"


def too_large(size: int, limit: int) -> str:
    return (
        f"The action produced a response that exceeded the allowed length: {size} > {limit} bytes."
    )


def classify(result: Any) -> Outcome:
    """The outcome of a result the function returned."""
    if isinstance(result, dict):
        return Outcome.APPLICATION_ERROR if "error" in result else Outcome.SUCCESS
    if isinstance(result, list):
        return Outcome.SUCCESS
    return Outcome.DEVELOPER_ERROR


def read_answer(answer: bytes, limit: int) -> tuple[Outcome, dict[str, Any] | list[Any], int]:
    """(outcome, result, size) from a runner's run answer: {"result": ...} (size is the result
    JSON's length), {"error": message} or {"oversize": bytes}."""
    try:
        if answer.startswith(_RESULT_PREFIX):
            result = orjson.loads(memoryview(answer)[len(_RESULT_PREFIX) : -1])
            size = len(answer) - _ENVELOPE
            if size > limit:
                return _error(Outcome.DEVELOPER_ERROR, too_large(size, limit))
            outcome = classify(result)
            if outcome is Outcome.DEVELOPER_ERROR:
                return _error(outcome, NOT_A_DICTIONARY)
            return outcome, result, size
        message = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return _error(Outcome.DEVELOPER_ERROR, EXITED)
    if isinstance(message, dict) and isinstance(message.get("oversize"), int):
        return _error(Outcome.DEVELOPER_ERROR, too_large(message["oversize"], limit))
    if isinstance(message, dict) and isinstance(message.get("error"), str):
        return _error(Outcome.DEVELOPER_ERROR, without_host_paths(message["error"]))
    return _error(Outcome.DEVELOPER_ERROR, EXITED)


def _error(outcome: Outcome, message: str) -> tuple[Outcome, dict[str, Any], int]:
    result = {"error": message}
    return outcome, result, len(orjson.dumps(result))


def failure(
    outcome: Outcome,
    message: str,
    logs: CallLogs | None,
    start_ms: int,
    init_ms: int | None = None,
    end_ms: int | None = None,
) -> RunResult:
    """A RunResult for a call that ended in an error of the platform's wording."""
    _, result, size = _error(outcome, message)
    return RunResult(
        outcome=outcome,
        result=result,
        logs=logs.lines() if logs is not None else [],
        start_ms=start_ms,
        end_ms=now_ms() if end_ms is None else end_ms,
        init_ms=init_ms,
        size=size,
    )
