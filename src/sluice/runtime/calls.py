"""One call on a warm-capable process: init when cold, run, enforce limits, build the result."""

from __future__ import annotations

import orjson

from sluice.runtime.archive import ArchiveError
from sluice.runtime.base import Outcome, RunRequest, RunResult
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.logs import CallLogs
from sluice.runtime.memory import MemoryWatch
from sluice.runtime.process import Answer, End, RuntimeProcess
from sluice.runtime.results import (
    EXITED,
    failure,
    init_failed,
    now_ms,
    out_of_memory,
    read_answer,
    timed_out,
)

INIT_OK = b'{"ok":true}'
#: what Node.js prints when its heap (sized to the memory limit) is full
NODE_HEAP_FULL = b"JavaScript heap out of memory"


async def run_warm(
    process: RuntimeProcess,
    request: RunRequest,
    start_ms: int,
    config: RuntimeConfig,
    memory: MemoryWatch,
) -> tuple[RunResult, bool]:
    """The result of one call on `process`, and whether the process may be reused."""
    action = request.action
    logs = CallLogs(request.log_limit_bytes)
    time_limit = request.timeout_ms / 1000
    init_ms: int | None = None
    pid = process.pid
    memory.watch(pid, action.memory_mb, lambda: process.kill(End.MEMORY))
    try:
        if process.key is None:
            try:
                answer = await process.init(
                    action, logs, time_limit, config.max_unzipped_bytes, config.builds_dir
                )
            except ArchiveError as exc:
                message, init_ms = init_failed(str(exc)), now_ms() - start_ms
                return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms), False
            except OSError as exc:
                message = f"The runtime could not unpack the action: {exc}"
                return failure(Outcome.PLATFORM_ERROR, message, logs, start_ms), False
            init_ms = now_ms() - start_ms
            if answer != INIT_OK:
                grace = config.log_grace_seconds
                return await _init_failure(process, request, answer, logs, start_ms, init_ms, grace)
        try:
            answer = await process.run(
                request.params, request.env, logs, time_limit, request.result_limit_bytes
            )
        except TypeError as exc:  # orjson: parameters that are not JSON
            message = f"The call's parameters cannot be sent to the action: {exc}"
            return failure(Outcome.PLATFORM_ERROR, message, logs, start_ms, init_ms), False
        end_ms = now_ms()
    finally:
        memory.unwatch(pid)
    complete = await process.finish_logs(config.log_grace_seconds)
    if isinstance(answer, End):
        return _ended(answer, request, logs, start_ms, init_ms, end_ms), False
    outcome, result, size = read_answer(answer, request.result_limit_bytes)
    run = RunResult(
        outcome=outcome,
        result=result,
        logs=logs.lines(),
        start_ms=start_ms,
        end_ms=end_ms,
        init_ms=init_ms,
        size=size,
    )
    return run, complete and process.alive


async def _init_failure(
    process: RuntimeProcess,
    request: RunRequest,
    answer: Answer,
    logs: CallLogs,
    start_ms: int,
    init_ms: int,
    grace: float,
) -> tuple[RunResult, bool]:
    end_ms = now_ms()
    await process.finish_logs(grace)
    if isinstance(answer, End):
        return _ended(answer, request, logs, start_ms, init_ms, end_ms), False
    try:
        detail = orjson.loads(answer).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        detail = None
    message = init_failed(detail if isinstance(detail, str) else "the runner gave no reason")
    return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end_ms), False


def _ended(
    end: End,
    request: RunRequest,
    logs: CallLogs,
    start_ms: int,
    init_ms: int | None,
    end_ms: int,
) -> RunResult:
    """The result of a call whose process stopped without answering."""
    if end is End.TIMEOUT:
        outcome, message = Outcome.TIMEOUT, timed_out(request.timeout_ms)
    elif end is End.MEMORY or logs.contains(NODE_HEAP_FULL):
        outcome, message = Outcome.DEVELOPER_ERROR, out_of_memory(request.action.memory_mb)
    else:
        outcome, message = Outcome.DEVELOPER_ERROR, EXITED
    return failure(outcome, message, logs, start_ms, init_ms, end_ms)
