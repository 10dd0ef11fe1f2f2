"""One warm runner process: started from a kind, initialised once with an action's code, then
asked to run calls over its control channel, its output captured per call.

Every message carries the id of the call it belongs to and every answer line starts with it, so
a process whose action allows concurrency N serves up to N calls at once. Such a runner tags
each line a call prints with the call's id; lines it cannot tag go to Sluice's own log."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import orjson

from sluice.runtime.archive import unpack
from sluice.runtime.base import ActionCode
from sluice.runtime.bundle import Deps, link_node_modules
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
    #: a shared process stopped answering after one of its calls ran past its time limit
    BLOCKED = "blocked"


class State(Enum):
    STARTING = "starting"
    STEM = "stem"
    BUSY = "busy"
    IDLE = "idle"
    GONE = "gone"


#: an answer line from the runner, or why there was none
Answer = bytes | End

#: what a runner serving several calls puts before each line a call prints: TAG, id, TAG_END
TAG = b"\x1esluice:"
TAG_END = b"\x1e"
#: lines a shared process printed outside any call (see docs/configuration.md, "What the limits do")
output_log = logging.getLogger("sluice.runtime.output")


@dataclass(frozen=True)
class Launcher:
    """What starting a runner needs besides its kind."""

    sandbox: Sandbox
    work_dir: Path
    node: str | None = None
    node_path: tuple[str, ...] = ()
    python_path: tuple[str, ...] = ()
    #: where builds keep dependency environments (see runtime/bundle.py); None: no builds
    builds_dir: Path | None = None


class RuntimeProcess:
    def __init__(self, kind: Kind, heap_mb: int, deps: Deps) -> None:
        self.kind = kind
        self.heap_mb = heap_mb
        #: the dependency environments it was launched seeing: those of the code it is for
        #: (none for a stem cell, which therefore serves only code without any)
        self.deps = deps
        self.state = State.STARTING
        #: the ActionCode.process_key this process was initialised with
        self.key: str | None = None
        #: calls it may run at once, set at init (the action's limits.concurrency)
        self.concurrency = 1
        #: calls checked out of the pool onto this process, and those whose memory it watches
        self.calls = 0
        self.watched = 0
        #: set when a call started the init; later calls wait on it
        self.initialising: asyncio.Future[Answer] | None = None
        self.end: End | None = None
        self.on_exit: Callable[[RuntimeProcess], None] | None = None
        self._child: Child | None = None
        self._channel: Channel | None = None
        self._ids = itertools.count(1)
        #: each open call's logs, from its first message until its output has ended
        self._logs: dict[int, CallLogs] = {}
        self._waiters: dict[int, asyncio.Future[Answer]] = {}
        #: calls given up on (timed out in a shared process): their late answers are dropped
        self._abandoned: set[int] = set()

    @classmethod
    async def start(
        cls,
        kind: Kind,
        heap_mb: int,
        launcher: Launcher,
        deps: Deps | None = None,
        *,
        network: str | None = None,
        secrets: Mapping[str, bytes] | None = None,
    ) -> RuntimeProcess:
        """Start an uninitialised runner of `kind` (a Node.js heap of `heap_mb` MB) that can
        read the dependency environments `deps` (and `secrets`, as files)."""
        process = cls(kind, heap_mb, deps or Deps())
        parent_end, child_end = socketpair()
        try:
            home = make_home(launcher.work_dir)
            argv = runner_argv(kind, launcher.node, heap_mb, child_end.fileno())
            env = path_env(kind, launcher.node_path, launcher.python_path)
            spec = launcher.sandbox.launch(
                argv,
                env,
                home,
                visible=[*process.deps.dirs, *kind.shown()],
                network=network,
                secrets=secrets,
            )
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

    @property
    def shared(self) -> bool:
        """Whether calls run side by side here, their output tagged by the runner."""
        return self.concurrency > 1

    def open_call(self, logs: CallLogs) -> int:
        """A new call's id; its output goes to `logs` until `finish_logs`."""
        call_id = next(self._ids)
        self._logs[call_id] = logs
        return call_id

    async def init(
        self,
        call_id: int,
        action: ActionCode,
        time_limit: float,
        max_unzipped: int,
    ) -> Answer:
        """Send the action's code; the child answers {"ok": true} or {"error": detail}.
        The dependency environments the process was launched seeing (its zip's, from its
        build) go on the module search path."""
        self.concurrency = max(1, action.concurrency)
        message: dict[str, Any] = {
            "op": "init",
            "id": call_id,
            "main": action.main,
            "env": dict(action.env),
            "concurrency": self.concurrency,
        }
        if action.binary:
            assert self._child is not None
            dest = self._child.home / "action"
            await asyncio.to_thread(unpack, action.code, dest, max_unzipped)
            message["dir"] = str(dest)
            deps = self.deps
            if deps.python is not None:
                message["path"] = [str(deps.python)]
            if deps.node is not None:
                await asyncio.to_thread(link_node_modules, dest, deps.node)
        else:
            message["code"] = action.code
        # a stuck init leaves nothing to share: its process goes
        data = orjson.dumps(message, option=_NL)
        answer = await self._exchange(call_id, data, time_limit, shared=False)
        if isinstance(answer, bytes) and answer == b'{"ok":true}':
            self.key = action.process_key
        return answer

    async def run(
        self,
        call_id: int,
        value: Mapping[str, Any],
        env: Mapping[str, str],
        time_limit: float,
        result_limit: int,
    ) -> Answer:
        """Run one call: {"result": ...}, {"error": message} or {"oversize": bytes}."""
        if self._channel is not None:
            self._channel.max_line = max(_MAX_ANSWER, result_limit + 4096)
        message = {
            "op": "run",
            "id": call_id,
            "value": value if isinstance(value, dict) else dict(value),
            "env": env if isinstance(env, dict) else dict(env),
            "limit": result_limit,
        }
        data = orjson.dumps(message, option=_NL)
        return await self._exchange(call_id, data, time_limit, shared=self.shared)

    async def _exchange(
        self, call_id: int, message: bytes, time_limit: float, *, shared: bool
    ) -> Answer:
        """Send `message` and wait for call `call_id`'s answer. Past `time_limit` a call of a
        `shared` process is given up on (the others go on); otherwise the process is killed."""
        assert self._channel is not None
        if not self.alive:
            return self.end or End.CRASH
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        self._waiters[call_id] = waiter
        if shared:
            timer = loop.call_later(time_limit, self._give_up, call_id)
        else:
            timer = loop.call_later(time_limit, self.kill, End.TIMEOUT)
        try:
            self._channel.send(message)
            return await waiter
        except asyncio.CancelledError:
            if shared:  # the call was cancelled: the others in the process go on
                self._abandon(call_id)
            raise
        finally:
            timer.cancel()
            self._waiters.pop(call_id, None)

    def _give_up(self, call_id: int) -> None:
        """A call of a shared process ran past its time limit: it ends as timed out and the
        runner is told to close its output; the others go on."""
        waiter = self._waiters.pop(call_id, None)
        if waiter is None or waiter.done():
            return
        waiter.set_result(End.TIMEOUT)
        self._abandon(call_id)

    def _abandon(self, call_id: int) -> None:
        """Stop waiting for call `call_id`: its late answer is dropped, its output closed."""
        self._abandoned.add(call_id)
        if self._channel is not None:
            self._channel.send(orjson.dumps({"op": "cancel", "id": call_id}, option=_NL))

    def close_call(self, call_id: int) -> None:
        """The call is over (its logs finished or no longer wanted)."""
        self._logs.pop(call_id, None)

    async def finish_logs(self, call_id: int, grace: float) -> bool:
        """Wait for the end of the call's output (both sentinels, or the end of the process);
        False when it did not come within `grace` seconds."""
        logs = self._logs.get(call_id)
        if logs is None:
            return True
        try:
            if not self.alive and self._child is not None:
                # gone: its output ends when its pipes close
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(grace):
                        await asyncio.shield(self._child.closed)
                return True
            return await logs.wait_complete(grace)
        finally:
            self.close_call(call_id)

    def limit_memory(self, memory_mb: int) -> None:
        """The memory limit of the process's whole tree, where the sandbox can set one."""
        if self._child is not None:
            self._child.confinement.limit_memory(memory_mb)

    def kill_strays(self) -> int:
        """Kill what the process started and left running (none of its calls is running):
        all of it, but the action's own process where its runner keeps one (actionloop)."""
        if self._child is None:
            return 0
        return self._child.confinement.kill_strays(keep_children=self.kind.has_action_process)

    def kill(self, reason: End = End.CRASH) -> None:
        if self.end is None:
            self.end = reason
        if self._child is not None:
            self._child.kill()

    async def close(self) -> None:
        """Stop the process for good and remove its directory."""
        self.kill()
        if self._channel is not None:
            self._channel.close()
        if self._child is not None:
            await self._child.close()

    def _on_output(self, stream: str, line: bytes, ns: int) -> None:
        logs: CallLogs | None = None
        if line.startswith(TAG):
            end = line.find(TAG_END, len(TAG))
            call_id = line[len(TAG) : end]
            if end > 0 and call_id.isdigit():
                line = line[end + len(TAG_END) :]
                logs = self._logs.get(int(call_id))
        elif not self.shared and len(self._logs) == 1:
            logs = next(iter(self._logs.values()))  # one call at a time: it is that call's
        if logs is None:
            if self.shared and not line.endswith(SENTINEL):
                output_log.info("pid %d %s: %s", self.pid, stream, line.decode(errors="replace"))
            return
        if line.endswith(SENTINEL):
            if len(line) > len(SENTINEL):
                logs.add(stream, line[: -len(SENTINEL)], ns)
            logs.end(stream)
        else:
            logs.add(stream, line, ns)

    def _on_stream_end(self, stream: str) -> None:
        for logs in self._logs.values():
            logs.end(stream)

    def _on_answer(self, line: bytes) -> None:
        head, _, answer = line.partition(b" ")
        call_id = int(head) if head.isdigit() else 0
        waiter = self._waiters.pop(call_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)
        elif call_id in self._abandoned:
            self._abandoned.discard(call_id)  # a timed-out call's late answer
        else:
            self.kill()  # an answer nobody asked for: the runner is confused

    def _on_overflow(self) -> None:
        self.kill(End.OVERFLOW)

    def _on_exit(self) -> None:
        if self.end is None:
            oom = self._child is not None and self._child.confinement.out_of_memory()
            self.end = End.MEMORY if oom else End.CRASH
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            if not waiter.done():
                waiter.set_result(self.end)
        if self.on_exit is not None:
            self.on_exit(self)


_NL = orjson.OPT_APPEND_NEWLINE
#: the longest answer line accepted whatever the result limit (runners check that limit)
_MAX_ANSWER = 64 << 20
