"""Fn's `default` format: one process per call, the request body on its stdin, its stdout
the response, `FN_*` variables describing the request. stderr is the call's log; so is
stdout for async functions, whose output has nobody else to go to."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sluice.runtime.archive import ArchiveError, unpack
from sluice.runtime.base import Outcome, RunRequest, RunResult
from sluice.runtime.bundle import read_deps
from sluice.runtime.capacity import SHUTTING_DOWN, CapacityClosed
from sluice.runtime.child import Child, make_home
from sluice.runtime.fn_command import CommandError, argv, environment
from sluice.runtime.fn_request import FnRequest, guess_content_type, response
from sluice.runtime.logs import STDOUT, CallLogs
from sluice.runtime.oneshot import run_once
from sluice.runtime.results import failure, init_failed, out_of_memory, timed_out
from sluice.runtime.settings import FamilySettings
from sluice.timing import now_ms

STDIN_FILE = ".sluice-stdin"


def output_goes_to_log(action_env: Mapping[str, str]) -> bool:
    """Async functions' output is logged: there is no caller waiting for it."""
    return action_env.get("FN_TYPE") == "async"


@dataclass
class _Output:
    """stdout kept as the response (up to `limit` bytes); logged too when `log_stdout`."""

    logs: CallLogs
    limit: int
    log_stdout: bool
    lines: list[bytes] = field(default_factory=list)
    size: int = 0

    def __call__(self, stream: str, line: bytes, ns: int) -> None:
        if stream == STDOUT:
            self.size += len(line) + 1
            if self.size <= self.limit:
                self.lines.append(line)
            if not self.log_stdout:
                return
        self.logs.add(stream, line, ns)

    @property
    def body(self) -> bytes:
        return b"\n".join(self.lines) + b"\n" if self.lines else b""


class FnDefault:
    def __init__(self, settings: FamilySettings) -> None:
        self.settings = settings

    async def run(self, request: RunRequest, start_ms: int) -> RunResult:
        action = request.action
        logs = CallLogs(request.log_limit_bytes)
        settings = self.settings
        home = make_home(settings.work_dir)
        fn = FnRequest.from_call(request.params, request.env)
        try:
            await asyncio.to_thread(unpack, action.code, home, settings.max_unzipped)
            command = argv(action.main, home, settings.tools)
        except (ArchiveError, CommandError) as exc:
            await asyncio.to_thread(_remove_tree, home)
            return failure(Outcome.DEVELOPER_ERROR, init_failed(str(exc)), logs, start_ms)
        deps = await asyncio.to_thread(read_deps, home, settings.builds_dir, action.owner)
        env = environment(action.env, request.env, fn, home, deps, settings.tools)
        spec = settings.sandbox.launch(
            command,
            env,
            home,
            visible=deps.dirs,
            network=action.network,
            secrets=action.secrets,
        )
        output = _Output(logs, request.result_limit_bytes, output_goes_to_log(action.env))
        stdin = _stdin(home, fn.body)
        init_ms = now_ms() - start_ms
        try:
            ended = await run_once(
                settings.capacity,
                lambda: Child.spawn(spec, output, stdin=stdin),
                settings.memory,
                action.memory_mb,
                request.timeout_ms,
            )
        except OSError as exc:
            message = init_failed(f"the command cannot be started: {exc}")
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms)
        except CapacityClosed:
            return failure(Outcome.PLATFORM_ERROR, SHUTTING_DOWN, logs, start_ms, init_ms)
        finally:
            os.close(stdin)
        end = ended.end_ms
        if ended.timed_out:
            message = timed_out(request.timeout_ms)
            return failure(Outcome.TIMEOUT, message, logs, start_ms, init_ms, end)
        if ended.over_memory:
            message = out_of_memory(action.memory_mb)
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end)
        if ended.returncode != 0:
            message = f"The function exited with status {ended.returncode}."
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end)
        if output.size > request.result_limit_bytes:
            message = (
                "The function's output exceeded the allowed length: "
                f"{output.size} > {request.result_limit_bytes} bytes."
            )
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end)
        body = output.body
        result = response(200, {"Content-Type": guess_content_type(body)}, body)
        return RunResult(Outcome.SUCCESS, result, logs.lines(), start_ms, end, init_ms, len(body))


def _stdin(home: Path, body: bytes) -> int:
    """A file descriptor reading `body`; the file itself is gone before the function runs."""
    path = home / STDIN_FILE
    path.write_bytes(body)
    fd = os.open(path, os.O_RDONLY)
    path.unlink()
    return fd


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
