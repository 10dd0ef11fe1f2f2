"""Fn's `http-stream` format: the function (an FDK) stays up and serves calls over HTTP on a
unix socket it creates at `FN_LISTENER`. One process per function version serves one call at
a time; idle ones stop after a while. Their stdout and stderr are the current call's log."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from sluice.runtime.archive import ArchiveError, unpack
from sluice.runtime.base import ActionCode, Outcome, RunRequest, RunResult
from sluice.runtime.bundle import read_deps
from sluice.runtime.child import Child, make_home
from sluice.runtime.fn_command import CommandError, Interpreters, argv, search_paths
from sluice.runtime.fn_default import output_goes_to_log
from sluice.runtime.fn_http import Answer, ProtocolError, exchange
from sluice.runtime.fn_request import FnRequest, response
from sluice.runtime.logs import STDOUT, CallLogs
from sluice.runtime.memory import MemoryWatch
from sluice.runtime.results import failure, init_failed, now_ms, out_of_memory, timed_out
from sluice.sandbox.base import Sandbox

#: how long an FDK may take to create its socket (Fn allows 5 s)
START_SECONDS = 10.0
#: a unix socket path is at most this long
_SOCKET_MAX = 107
_POLL_SECONDS = 0.02


class StartFailed(Exception):
    """The function's process did not come up; the message says why."""


@dataclass(eq=False)
class StreamProcess:
    key: str
    child: Child
    socket: Path
    logs: CallLogs | None = None
    idle_since: float = field(default_factory=time.monotonic)
    timer: asyncio.TimerHandle | None = None

    def sink(self, stream: str, line: bytes, ns: int) -> None:
        if self.logs is not None:
            self.logs.add(stream, line, ns)


class FnStream:
    def __init__(
        self,
        sandbox: Sandbox,
        work_dir: Path,
        memory: MemoryWatch,
        tools: Interpreters,
        builds_dir: Path | None,
        idle_seconds: float,
        max_processes: int,
        max_unzipped: int,
    ) -> None:
        self.sandbox = sandbox
        self.work_dir = work_dir
        self.memory = memory
        self.tools = tools
        self.builds_dir = builds_dir
        self.idle_seconds = idle_seconds
        self.max_processes = max(1, max_processes)
        self.max_unzipped = max_unzipped
        self._idle: dict[str, list[StreamProcess]] = {}
        self._count = 0

    async def _start(self, action: ActionCode, logs: CallLogs) -> StreamProcess:
        home = make_home(self.work_dir)
        socket = home / "iofs" / "lsnr.sock"
        if len(str(socket)) + len("phony") > _SOCKET_MAX:
            raise StartFailed(f"the socket path {socket} is too long for a unix socket")
        try:
            await asyncio.to_thread(unpack, action.code, home, self.max_unzipped)
            command = argv(action.main, home, self.tools)
        except (ArchiveError, CommandError) as exc:
            raise StartFailed(str(exc)) from exc
        socket.parent.mkdir()
        deps = read_deps(home, self.builds_dir)
        env = {
            **action.env,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{socket}",
            **search_paths(home, deps, self.tools),
        }
        spec = self.sandbox.launch(command, env, home)
        process: StreamProcess | None = None

        def sink(stream: str, line: bytes, ns: int) -> None:
            if process is not None:
                process.sink(stream, line, ns)
            else:
                logs.add(stream, line, ns)

        try:
            child = await Child.spawn(spec, sink)
        except OSError as exc:
            raise StartFailed(f"the command cannot be started: {exc}") from exc
        process = StreamProcess(action.key, child, socket, logs)
        self._count += 1
        if not await self._listening(process):
            await self._stop(process)
            raise StartFailed(
                "the function did not listen on FN_LISTENER within "
                f"{START_SECONDS:g} s (is it written for an FDK?)"
            )
        return process

    async def _listening(self, process: StreamProcess) -> bool:
        """Wait until the socket exists (a symlink to the FDK's own, as Fn's FDKs make)."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if process.socket.exists():
                return True
            if not process.child.alive:
                return False
            await asyncio.sleep(_POLL_SECONDS)
        return False

    async def _stop(self, process: StreamProcess) -> None:
        if process.timer is not None:
            process.timer.cancel()
        self._count -= 1
        await process.child.close()

    def _take(self, key: str) -> StreamProcess | None:
        stack = self._idle.get(key, [])
        while stack:
            process = stack.pop()
            if process.timer is not None:
                process.timer.cancel()
            if process.child.alive:
                return process
            asyncio.get_running_loop().create_task(self._stop(process))
        return None

    async def _make_room(self) -> None:
        """Stop the longest idle process when there are as many as allowed."""
        if self._count < self.max_processes:
            return
        idle = [p for stack in self._idle.values() for p in stack]
        if idle:
            oldest = min(idle, key=lambda p: p.idle_since)
            self._idle[oldest.key].remove(oldest)
            await self._stop(oldest)

    def _release(self, process: StreamProcess) -> None:
        process.logs = None
        process.idle_since = time.monotonic()
        self._idle.setdefault(process.key, []).append(process)
        loop = asyncio.get_running_loop()
        process.timer = loop.call_later(self.idle_seconds, self._expire, process)

    def _expire(self, process: StreamProcess) -> None:
        stack = self._idle.get(process.key, [])
        if process in stack:
            stack.remove(process)
            asyncio.get_running_loop().create_task(self._stop(process))

    async def run(self, request: RunRequest, start_ms: int) -> RunResult:
        action = request.action
        logs = CallLogs(request.log_limit_bytes)
        process = self._take(action.key)
        init_ms: int | None = None
        if process is None:
            await self._make_room()
            try:
                process = await self._start(action, logs)
            except StartFailed as exc:
                return failure(Outcome.DEVELOPER_ERROR, init_failed(str(exc)), logs, start_ms)
            init_ms = now_ms() - start_ms
        process.logs = logs
        result, reuse = await self._call(process, request, logs, start_ms, init_ms)
        if reuse:
            self._release(process)
        else:
            await self._stop(process)
        return result

    async def _call(
        self,
        process: StreamProcess,
        request: RunRequest,
        logs: CallLogs,
        start_ms: int,
        init_ms: int | None,
    ) -> tuple[RunResult, bool]:
        fn = FnRequest.from_call(request.params, request.env)
        over_memory = False

        def exceeded() -> None:
            nonlocal over_memory
            over_memory = True
            process.child.kill()

        self.memory.watch(process.child.pid, request.action.memory_mb, exceeded)
        try:
            async with asyncio.timeout(request.timeout_ms / 1000):
                answer = await exchange(str(process.socket), fn, request.result_limit_bytes)
        except TimeoutError:
            message = timed_out(request.timeout_ms)
            return failure(Outcome.TIMEOUT, message, logs, start_ms, init_ms), False
        except (OSError, ProtocolError, asyncio.IncompleteReadError, ValueError) as exc:
            if over_memory:
                message = out_of_memory(request.action.memory_mb)
            else:
                message = f"The function gave no valid answer: {exc}"
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms), False
        finally:
            self.memory.unwatch(process.child.pid)
        end_ms = now_ms()
        return self._result(answer, request, logs, start_ms, init_ms, end_ms)

    def _result(
        self,
        answer: Answer,
        request: RunRequest,
        logs: CallLogs,
        start_ms: int,
        init_ms: int | None,
        end_ms: int,
    ) -> tuple[RunResult, bool]:
        if answer.status == 504:
            message = timed_out(request.timeout_ms)
            return failure(Outcome.TIMEOUT, message, logs, start_ms, init_ms, end_ms), True
        if answer.status != 200:
            text = answer.body.decode("utf-8", "replace").strip()[:1000]
            detail = text if answer.status == 502 else f"invalid function response {answer.status}"
            outcome = Outcome.APPLICATION_ERROR if answer.status == 502 else Outcome.DEVELOPER_ERROR
            result = failure(outcome, detail or "function failed", logs, start_ms, init_ms, end_ms)
            return result, answer.status == 502
        if output_goes_to_log(request.action.env):
            for line in answer.body.splitlines():
                logs.add(STDOUT, line)
        body = response(answer.user_status(), answer.user_headers(), answer.body)
        result = RunResult(
            Outcome.SUCCESS, body, logs.lines(), start_ms, end_ms, init_ms, len(answer.body)
        )
        return result, True

    async def close(self) -> None:
        stacks = list(self._idle.values())
        self._idle.clear()
        for stack in stacks:
            for process in stack:
                with contextlib.suppress(Exception):
                    await self._stop(process)
