"""Blackbox actions: a zip holding an executable `exec`, run once per call as OpenWhisk's
native action contract says: `exec '<params json>'`, its output lines are logs and its last
stdout line is the JSON result."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from pathlib import Path

import orjson

from sluice.runtime.archive import ArchiveError, unpack
from sluice.runtime.base import Outcome, RunRequest, RunResult
from sluice.runtime.capacity import SHUTTING_DOWN, CapacityClosed
from sluice.runtime.child import Child, make_home
from sluice.runtime.logs import STDOUT, CallLogs
from sluice.runtime.oneshot import run_once
from sluice.runtime.results import (
    NOT_A_DICTIONARY,
    classify,
    failure,
    init_failed,
    out_of_memory,
    timed_out,
    too_large,
)
from sluice.runtime.settings import FamilySettings
from sluice.timing import now_ms

EXECUTABLE = "exec"


class _Output:
    """Keeps the latest non-empty stdout line out of the logs: it may be the result."""

    def __init__(self, logs: CallLogs) -> None:
        self.logs = logs
        self.held: tuple[bytes, int] | None = None

    def __call__(self, stream: str, line: bytes, ns: int) -> None:
        if stream == STDOUT and line.strip():
            if self.held is not None:
                self.logs.add(STDOUT, self.held[0], self.held[1])
            self.held = (line, ns)
        else:
            self.logs.add(stream, line, ns)


class Blackbox:
    def __init__(self, settings: FamilySettings) -> None:
        self.settings = settings
        self.capacity = settings.capacity

    async def run(self, request: RunRequest, start_ms: int) -> RunResult:
        action = request.action
        logs = CallLogs(request.log_limit_bytes)
        home = make_home(self.settings.work_dir)
        try:
            executable = await asyncio.to_thread(self._prepare, action.code, home)
        except ArchiveError as exc:
            await asyncio.to_thread(_remove, home)
            return failure(Outcome.DEVELOPER_ERROR, init_failed(str(exc)), logs, start_ms)
        init_ms = now_ms() - start_ms
        params = orjson.dumps(dict(request.params)).decode()
        env = {**action.env, **request.env}
        spec = self.settings.sandbox.launch(
            [str(executable), params], env, home, network=action.network, secrets=action.secrets
        )
        output = _Output(logs)
        try:
            ended = await run_once(
                self.capacity,
                lambda: Child.spawn(spec, output),
                self.settings.memory,
                action.memory_mb,
                request.timeout_ms,
            )
        except OSError as exc:
            message = init_failed(f"the executable cannot be started: {exc}")
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms)
        except CapacityClosed:
            return failure(Outcome.PLATFORM_ERROR, SHUTTING_DOWN, logs, start_ms, init_ms)
        end_ms = ended.end_ms
        if ended.timed_out:
            return failure(
                Outcome.TIMEOUT, timed_out(request.timeout_ms), logs, start_ms, init_ms, end_ms
            )
        if ended.over_memory:
            message = out_of_memory(action.memory_mb)
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end_ms)
        return self._result(output, request, logs, start_ms, init_ms, end_ms)

    def _result(
        self,
        output: _Output,
        request: RunRequest,
        logs: CallLogs,
        start_ms: int,
        init_ms: int,
        end_ms: int,
    ) -> RunResult:
        line = output.held[0] if output.held is not None else b""
        try:
            result = orjson.loads(line)
        except orjson.JSONDecodeError:
            result = None
        outcome = classify(result)
        if outcome is Outcome.DEVELOPER_ERROR or not isinstance(result, dict | list):
            if output.held is not None:
                logs.add(STDOUT, *output.held)
            return failure(
                Outcome.DEVELOPER_ERROR, NOT_A_DICTIONARY, logs, start_ms, init_ms, end_ms
            )
        size = len(line.strip())
        if size > request.result_limit_bytes:
            message = too_large(size, request.result_limit_bytes)
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end_ms)
        return RunResult(
            outcome=outcome,
            result=result,
            logs=logs.lines(),
            start_ms=start_ms,
            end_ms=end_ms,
            init_ms=init_ms,
            size=size,
        )

    def _prepare(self, code: str, home: Path) -> Path:
        unpack(code, home, self.settings.max_unzipped)
        executable = home / EXECUTABLE
        if not executable.is_file():
            raise ArchiveError(f"the zip archive has no '{EXECUTABLE}' file")
        mode = executable.stat().st_mode
        os.chmod(executable, mode | stat.S_IXUSR | stat.S_IRUSR)
        return executable


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
