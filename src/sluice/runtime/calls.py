"""One call on a warm-capable process: init when cold, run, enforce limits, build the result."""

from __future__ import annotations

import asyncio

import orjson

from sluice.runtime.archive import ArchiveError
from sluice.runtime.base import Outcome, RunRequest, RunResult
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.logs import STDERR, STDOUT, CallLogs
from sluice.runtime.memory import MemoryWatch
from sluice.runtime.process import Answer, End, RuntimeProcess
from sluice.runtime.results import (
    BLOCKED,
    EXITED,
    failure,
    init_failed,
    out_of_memory,
    read_answer,
    timed_out,
)
from sluice.timing import now_ms

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
    """The result of one call on `process`, and whether the process may serve more calls.
    Several calls may run on one process at once when its action allows it."""
    action = request.action
    logs = CallLogs(request.log_limit_bytes)
    call_id = process.open_call(logs)
    time_limit = request.timeout_ms / 1000
    grace = config.log_grace_seconds
    init_ms: int | None = None
    _watch(process, memory, action.memory_mb)
    try:
        if process.key is None:
            if process.initialising is None:
                answer = await _init(process, call_id, request, logs, config)
                init_ms = now_ms() - start_ms
            else:  # another call is initialising it: this one waits
                answer = await asyncio.shield(process.initialising)
            if answer != INIT_OK:
                args = (process, call_id, request, answer, logs, start_ms, init_ms, grace)
                return await _init_failure(*args)
        try:
            answer = await process.run(
                call_id, request.params, request.env, time_limit, request.result_limit_bytes
            )
        except TypeError as exc:  # orjson: parameters that are not JSON
            message = f"The call's parameters cannot be sent to the action: {exc}"
            await process.finish_logs(call_id, 0)
            return failure(Outcome.PLATFORM_ERROR, message, logs, start_ms, init_ms), False
        end_ms = now_ms()
    except asyncio.CancelledError:
        process.close_call(call_id)
        raise
    finally:
        _unwatch(process, memory)
    complete = await process.finish_logs(call_id, grace)
    if process.watched == 0:
        # nothing a call started outlives it: only the runner stays warm
        process.kill_strays()
    if isinstance(answer, End):
        reuse = answer is End.TIMEOUT and process.alive
        if reuse and not complete:
            # a call past its time limit keeps the process from answering: it must go
            process.kill(End.BLOCKED)
        return _ended(answer, request, logs, start_ms, init_ms, end_ms), reuse and complete
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


def _watch(process: RuntimeProcess, memory: MemoryWatch, memory_mb: int) -> None:
    """Sample the process's memory while any of its calls runs (its limit is per process)."""
    if process.watched == 0:
        process.limit_memory(memory_mb)
        memory.watch(process.pid, memory_mb, lambda: process.kill(End.MEMORY))
    process.watched += 1


def _unwatch(process: RuntimeProcess, memory: MemoryWatch) -> None:
    process.watched -= 1
    if process.watched == 0:
        memory.unwatch(process.pid)


async def _init(
    process: RuntimeProcess,
    call_id: int,
    request: RunRequest,
    logs: CallLogs,
    config: RuntimeConfig,
) -> Answer:
    """Initialise `process` with the request's action; calls that join it meanwhile get the
    same answer through `process.initialising`."""
    done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
    process.initialising = done
    answer: Answer = End.CRASH
    try:
        answer = await process.init(
            call_id,
            request.action,
            request.timeout_ms / 1000,
            config.max_unzipped_bytes,
        )
    except (ArchiveError, OSError) as exc:
        # the code never reached the runner: there is no output to wait for
        logs.end(STDOUT)
        logs.end(STDERR)
        detail = str(exc) if isinstance(exc, ArchiveError) else f"could not unpack it: {exc}"
        answer = orjson.dumps({"error": detail})
    finally:
        done.set_result(answer)
    return answer


async def _init_failure(
    process: RuntimeProcess,
    call_id: int,
    request: RunRequest,
    answer: Answer,
    logs: CallLogs,
    start_ms: int,
    init_ms: int | None,
    grace: float,
) -> tuple[RunResult, bool]:
    end_ms = now_ms()
    await process.finish_logs(call_id, grace)
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
    elif end is End.BLOCKED:
        outcome, message = Outcome.DEVELOPER_ERROR, BLOCKED
    elif end is End.MEMORY or logs.contains(NODE_HEAP_FULL):
        outcome, message = Outcome.DEVELOPER_ERROR, out_of_memory(request.action.memory_mb)
    else:
        outcome, message = Outcome.DEVELOPER_ERROR, EXITED
    return failure(outcome, message, logs, start_ms, init_ms, end_ms)
