"""One warm runner process: started from a kind, initialised once with an action's code, then
asked to run calls one at a time over its control channel, its output captured per call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import orjson

from sluice.runtime.archive import unpack
from sluice.runtime.base import ActionCode
from sluice.runtime.bundle import link_node_modules, read_deps
from sluice.runtime.channel import Channel, socketpair
from sluice.runtime.child import Child, make_home
from sluice.runtime.kinds import Kind, path_env, runner_argv
from sluice.runtime.logs import SENTINEL, CallLogs
from sluice.sandbox.base import Sandbox


class End(StrEnum):
    """Why a process stopped answering during an exchange."""

    CRASH = "crash"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    OVERFLOW = "overflow"


class State(Enum):
    STARTING = "starting"
    STEM = "stem"
    BUSY = "busy"
    IDLE = "idle"
    GONE = "gone"


#: an answer line from the runner, or why there was none
Answer = bytes | End


@dataclass(frozen=True)
class Launcher:
    """What starting a runner needs besides its kind."""

    sandbox: Sandbox
    work_dir: Path
    node: str | None = None
    node_path: tuple[str, ...] = ()
    python_path: tuple[str, ...] = ()


class RuntimeProcess:
    def __init__(self, kind: Kind, heap_mb: int) -> None:
        self.kind = kind
        self.heap_mb = heap_mb
        self.state = State.STARTING
        #: the ActionCode.key this process was initialised with
        self.key: str | None = None
        self.last_used = 0.0
        self.idle_timer: asyncio.TimerHandle | None = None
        self.end: End | None = None
        #: the current call's logs; output outside a call is dropped
        self.logs: CallLogs | None = None
        self.on_exit: Callable[[RuntimeProcess], None] | None = None
        self._child: Child | None = None
        self._channel: Channel | None = None
        self._waiter: asyncio.Future[Answer] | None = None

    @classmethod
    async def start(cls, kind: Kind, heap_mb: int, launcher: Launcher) -> RuntimeProcess:
        """Start an uninitialised runner of `kind` (a Node.js heap of `heap_mb` MB)."""
        process = cls(kind, heap_mb)
        parent_end, child_end = socketpair()
        try:
            home = make_home(launcher.work_dir)
            argv = runner_argv(kind, launcher.node, heap_mb, child_end.fileno())
            env = path_env(kind, launcher.node_path, launcher.python_path)
            spec = launcher.sandbox.launch(argv, env, home)
            process._child = await Child.spawn(spec, process._on_output, (child_end.fileno(),))
            child_end.close()
            channel = Channel(process._on_answer, process._on_overflow)
            loop = asyncio.get_running_loop()
            await loop.create_unix_connection(lambda: channel, sock=parent_end)
        except BaseException:
            child_end.close()
            parent_end.close()
            if process._child is not None:
                await process._child.close()
            raise
        process._channel = channel
        process._child.on_exit = process._on_exit
        process._child.on_stream_end = process._on_stream_end
        return process

    @property
    def pid(self) -> int:
        return self._child.pid if self._child is not None else 0

    @property
    def alive(self) -> bool:
        return self._child is not None and self._child.alive and self.end is None

    async def init(
        self,
        action: ActionCode,
        logs: CallLogs,
        time_limit: float,
        max_unzipped: int,
        builds_dir: Path | None = None,
    ) -> Answer:
        """Send the action's code; the child answers {"ok": true} or {"error": detail}.
        A zip's dependency environment (from its build) goes on the module search path."""
        message: dict[str, Any] = {"op": "init", "main": action.main, "env": dict(action.env)}
        if action.binary:
            assert self._child is not None
            dest = self._child.home / "action"
            await asyncio.to_thread(unpack, action.code, dest, max_unzipped)
            message["dir"] = str(dest)
            deps = await asyncio.to_thread(read_deps, dest, builds_dir)
            if deps.python is not None:
                message["path"] = [str(deps.python)]
            if deps.node is not None:
                await asyncio.to_thread(link_node_modules, dest, deps.node)
        else:
            message["code"] = action.code
        answer = await self._exchange(orjson.dumps(message, option=_NL), logs, time_limit)
        if isinstance(answer, bytes) and answer == b'{"ok":true}':
            self.key = action.key
        return answer

    async def run(
        self,
        value: Mapping[str, Any],
        env: Mapping[str, str],
        logs: CallLogs,
        time_limit: float,
        result_limit: int,
    ) -> Answer:
        """Run one call: {"result": ...}, {"error": message} or {"oversize": bytes}."""
        if self._channel is not None:
            self._channel.max_line = max(_MAX_ANSWER, result_limit + 4096)
        message = {
            "op": "run",
            "value": value if isinstance(value, dict) else dict(value),
            "env": env if isinstance(env, dict) else dict(env),
            "limit": result_limit,
        }
        return await self._exchange(orjson.dumps(message, option=_NL), logs, time_limit)

    async def _exchange(self, message: bytes, logs: CallLogs, time_limit: float) -> Answer:
        assert self._channel is not None
        if not self.alive:
            return self.end or End.CRASH
        loop = asyncio.get_running_loop()
        self.logs = logs
        waiter: asyncio.Future[Answer] = loop.create_future()
        self._waiter = waiter
        timer = loop.call_later(time_limit, self.kill, End.TIMEOUT)
        try:
            self._channel.send(message)
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def finish_logs(self, grace: float) -> bool:
        """Wait for the end of the current call's output (both sentinels, or the end of the
        process); False when it did not come within `grace` seconds."""
        logs = self.logs
        if logs is None:
            return True
        if not self.alive and self._child is not None:
            # gone: its output ends when its pipes close
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.shield(self._child.closed)
            self.logs = None
            return True
        complete = await logs.wait_complete(grace)
        self.logs = None
        return complete

    def kill(self, reason: End = End.CRASH) -> None:
        if self.end is None:
            self.end = reason
        if self._child is not None:
            self._child.kill()

    async def close(self) -> None:
        """Stop the process for good and remove its directory."""
        self.kill()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if self._channel is not None:
            self._channel.close()
        if self._child is not None:
            await self._child.close()

    def _on_output(self, stream: str, line: bytes, ns: int) -> None:
        logs = self.logs
        if logs is None:
            return
        if line.endswith(SENTINEL):
            if len(line) > len(SENTINEL):
                logs.add(stream, line[: -len(SENTINEL)], ns)
            logs.end(stream)
        else:
            logs.add(stream, line, ns)

    def _on_stream_end(self, stream: str) -> None:
        if self.logs is not None:
            self.logs.end(stream)

    def _on_answer(self, line: bytes) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(line)
        else:
            self.kill()  # an answer nobody asked for: the runner is confused

    def _on_overflow(self) -> None:
        self.kill(End.OVERFLOW)

    def _on_exit(self) -> None:
        if self.end is None:
            self.end = End.CRASH
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(self.end)
        if self.on_exit is not None:
            self.on_exit(self)


_NL = orjson.OPT_APPEND_NEWLINE
#: the longest answer line accepted whatever the result limit (runners check that limit)
_MAX_ANSWER = 64 << 20
