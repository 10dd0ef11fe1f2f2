"""Fn functions: runs a call in the function's format (`fn:default`, `fn:http-stream`)."""

from __future__ import annotations

from pathlib import Path

from sluice.runtime.base import Outcome, RunRequest, RunResult
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.fn_command import Interpreters
from sluice.runtime.fn_default import FnDefault
from sluice.runtime.fn_stream import FnStream
from sluice.runtime.kinds import FN_DEFAULT, FN_HTTP_STREAM, Kind
from sluice.runtime.memory import MemoryWatch
from sluice.runtime.results import failure
from sluice.sandbox.base import Sandbox


class FnRuntime:
    def __init__(
        self, config: RuntimeConfig, sandbox: Sandbox, memory: MemoryWatch, node: str | None
    ) -> None:
        tools = Interpreters(node=node, node_path=config.node_path, python_path=config.python_path)
        work_dir: Path = config.work_dir
        self.default = FnDefault(
            sandbox, work_dir, memory, tools, config.builds_dir, config.max_unzipped_bytes
        )
        self.stream = FnStream(
            sandbox,
            work_dir,
            memory,
            tools,
            config.builds_dir,
            config.idle_seconds,
            config.max_processes,
            config.max_unzipped_bytes,
        )

    async def run(self, kind: Kind, request: RunRequest, start_ms: int) -> RunResult:
        if kind == FN_DEFAULT:
            return await self.default.run(request, start_ms)
        if kind == FN_HTTP_STREAM:
            return await self.stream.run(request, start_ms)
        message = f"The action kind '{kind.name}' is not supported yet."
        return failure(Outcome.PLATFORM_ERROR, message, None, start_ms)

    async def close(self) -> None:
        await self.stream.close()
