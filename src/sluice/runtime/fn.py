"""Fn functions: runs a call in the function's format (`fn:default`, `fn:http-stream`,
`fn:json`)."""

from __future__ import annotations

from sluice.runtime.base import Outcome, RunRequest, RunResult
from sluice.runtime.fn_default import FnDefault
from sluice.runtime.fn_stream import FnStream
from sluice.runtime.kinds import FN_DEFAULT, FN_HTTP_STREAM, FN_JSON, Kind
from sluice.runtime.results import failure
from sluice.runtime.settings import FamilySettings


class FnRuntime:
    def __init__(self, settings: FamilySettings) -> None:
        self.default = FnDefault(settings)
        self.hot = FnStream(settings)

    async def run(self, kind: Kind, request: RunRequest, start_ms: int) -> RunResult:
        if kind == FN_DEFAULT:
            return await self.default.run(request, start_ms)
        if kind in (FN_HTTP_STREAM, FN_JSON):
            return await self.hot.run(request, start_ms, kind == FN_JSON)
        message = f"The action kind '{kind.name}' is not supported yet."
        return failure(Outcome.PLATFORM_ERROR, message, None, start_ms)

    async def close(self) -> None:
        await self.hot.close()
