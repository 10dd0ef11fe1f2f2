"""Fn's hot formats: the function stays up between calls, served over HTTP on a unix socket
(`http-stream`, what Fn's FDKs speak) or over JSON frames on stdin and stdout (`json`). One
process per function version serves one call at a time; one idle for its route's
`idle_timeout` (or the server's idle time) stops. Its stderr, and stdout that is not
protocol, are the current call's log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass

from sluice.runtime.archive import ArchiveError, unpack
from sluice.runtime.base import ActionCode, Outcome, RunRequest, RunResult
from sluice.runtime.bundle import read_deps
from sluice.runtime.capacity import SHUTTING_DOWN, CapacityClosed
from sluice.runtime.child import Child, make_home
from sluice.runtime.fn_command import CommandError, argv, search_paths
from sluice.runtime.fn_default import output_goes_to_log
from sluice.runtime.fn_http import ProtocolError
from sluice.runtime.fn_links import Link, PipeLink, Reply, SocketLink
from sluice.runtime.fn_request import FnRequest, response
from sluice.runtime.logs import STDOUT, CallLogs
from sluice.runtime.results import failure, init_failed, out_of_memory, timed_out
from sluice.runtime.settings import FamilySettings
from sluice.runtime.warm import Background, IdleProcesses
from sluice.timing import now_ms


class StartFailed(Exception):
    """The function's process did not come up; the message says why."""


@dataclass(eq=False)
class StreamProcess:
    #: the ActionCode.process_key it serves: one namespace's calls of one version
    key: str
    child: Child
    link: Link
    #: how long it may stay idle before it is stopped
    idle_seconds: float
    logs: CallLogs | None = None
    #: stopped, its slot given back
    gone: bool = False


class FnStream:
    def __init__(self, settings: FamilySettings) -> None:
        self.settings = settings
        #: the process slots shared with the other warm families
        self.capacity = settings.capacity
        self._idle = IdleProcesses[str, StreamProcess](self.capacity, _alive, self._evict)
        self._background = Background()

    async def _start(self, action: ActionCode, logs: CallLogs, json: bool) -> StreamProcess:
        """A process for `action`, in the slot reserved for it (given back if none starts)."""
        async with self.capacity.starting:
            try:
                process = await self._spawn(action, logs, json)
            except BaseException:
                self.capacity.release()
                raise
            try:
                ready = await process.link.ready(process.child)
            except BaseException:
                await self._stop(process)
                raise
        if not ready:
            await self._stop(process)
            raise StartFailed(process.link.not_ready)
        return process

    async def _spawn(self, action: ActionCode, logs: CallLogs, json: bool) -> StreamProcess:
        settings = self.settings
        home = make_home(settings.work_dir)
        try:
            await asyncio.to_thread(unpack, action.code, home, settings.max_unzipped)
            command = argv(action.main, home, settings.tools)
            link: Link = PipeLink() if json else SocketLink(home)
        except (ArchiveError, CommandError, OSError) as exc:
            await asyncio.to_thread(shutil.rmtree, home, True)
            raise StartFailed(str(exc)) from exc
        deps = await asyncio.to_thread(read_deps, home, settings.builds_dir, action.owner)
        env = {**action.env, **link.env, **search_paths(home, deps, settings.tools)}
        spec = settings.sandbox.launch(
            command,
            env,
            home,
            visible=deps.dirs,
            network=action.network,
            secrets=action.secrets,
        )
        process: StreamProcess | None = None

        def sink(stream: str, line: bytes, ns: int) -> None:
            if stream == STDOUT and link.stdout(line):
                return
            target = process.logs if process is not None else logs
            if target is not None:
                target.add(stream, line, ns)

        try:
            child = await Child.spawn(spec, sink, stdin=link.stdin)
        except OSError as exc:
            link.close()
            raise StartFailed(f"the command cannot be started: {exc}") from exc
        finally:
            if link.stdin is not None:
                os.close(link.stdin)
        idle = action.idle_seconds or settings.idle_seconds
        process = StreamProcess(action.process_key, child, link, idle, logs)
        return process

    async def _stop(self, process: StreamProcess) -> None:
        await self._closed(process, self._forget(process))

    def _forget(self, process: StreamProcess) -> bool:
        """Kill `process` (once): whether this did, its slot then to be given back once it
        has exited (`_closed`)."""
        if process.gone:
            return False
        process.gone = True
        self._idle.remove(process)
        process.child.kill()
        process.link.close()
        self.capacity.stopping()
        return True

    async def _closed(self, process: StreamProcess, killed: bool) -> None:
        """Wait until `process` has exited (its directory removed); then its slot is free."""
        try:
            await process.child.close()
        finally:
            if killed:
                self.capacity.exited()

    def _evict(self, process: StreamProcess) -> None:
        """Stop an idle process at once, for another's start (its slot free once it exits)."""
        self._background.run(self._closed(process, self._forget(process)))

    def _release(self, process: StreamProcess) -> None:
        process.logs = None
        self._idle.put(process.key, process, process.idle_seconds)

    async def run(self, request: RunRequest, start_ms: int, json: bool) -> RunResult:
        """One call of a function in the `json` format (`json`) or `http-stream`."""
        action = request.action
        logs = CallLogs(request.log_limit_bytes)
        process = self._idle.take(action.process_key)
        init_ms: int | None = None
        if process is None:
            try:
                await self.capacity.reserve()
            except CapacityClosed:
                message = SHUTTING_DOWN
                return failure(Outcome.PLATFORM_ERROR, message, logs, start_ms)
            try:
                process = await self._start(action, logs, json)
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
        memory = self.settings.memory

        def exceeded() -> None:
            nonlocal over_memory
            over_memory = True
            process.child.kill()

        memory.watch(process.child.pid, request.action.memory_mb, exceeded)
        try:
            async with asyncio.timeout(request.timeout_ms / 1000):
                answer = await process.link.exchange(fn, request.result_limit_bytes)
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
            memory.unwatch(process.child.pid)
        end_ms = now_ms()
        return self._result(answer, request, logs, start_ms, init_ms, end_ms)

    def _result(
        self,
        answer: Reply,
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
        for process in self._idle:
            with contextlib.suppress(Exception):
                await self._stop(process)
        await self._background.finish()


def _alive(process: StreamProcess) -> bool:
    return process.child.alive
