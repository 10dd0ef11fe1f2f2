"""Shared helpers for runtime tests: a real ProcessRuntime in a temp dir, requests, zips and
waiting on conditions with deadlines."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import itertools
import os
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sluice.runtime.base import ActionCode, RunRequest
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.pool import ProcessRuntime

T = TypeVar("T")
_keys = itertools.count()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@contextlib.asynccontextmanager
async def open_runtime(work: Path, **config: Any) -> AsyncIterator[ProcessRuntime]:
    config.setdefault("stem_cells", 0)
    runtime = ProcessRuntime(RuntimeConfig(work_dir=work, **config))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


def action(
    code: str,
    kind: str = "nodejs:20",
    *,
    binary: bool = False,
    main: str = "main",
    env: Mapping[str, str] | None = None,
    memory_mb: int = 256,
    key: str | None = None,
    concurrency: int = 1,
    namespace: str = "guest",
    owner: str | None = None,
) -> ActionCode:
    return ActionCode(
        key=key or f"test/action-{next(_keys)}",
        kind=kind,
        code=code,
        binary=binary,
        main=main,
        env=dict(env or {}),
        memory_mb=memory_mb,
        concurrency=concurrency,
        namespace=namespace,
        owner=namespace if owner is None else owner,
    )


def request(
    code: ActionCode,
    params: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout_ms: int = 20_000,
    log_limit_bytes: int = 1 << 20,
    result_limit_bytes: int = 1 << 20,
) -> RunRequest:
    call_env = {
        "__OW_ACTIVATION_ID": os.urandom(16).hex(),
        "__OW_NAMESPACE": "guest",
        "__OW_ACTION_NAME": "/guest/test",
    }
    call_env.update(env or {})
    return RunRequest(
        action=code,
        params=dict(params or {}),
        env=call_env,
        timeout_ms=timeout_ms,
        log_limit_bytes=log_limit_bytes,
        result_limit_bytes=result_limit_bytes,
    )


def zip_b64(files: Mapping[str, str | bytes], modes: Mapping[str, int] | None = None) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return base64.b64encode(buffer.getvalue()).decode()


async def wait_until(
    check: Callable[[], T | Awaitable[T | None] | None], what: str, timeout: float = 10.0
) -> T:
    """Poll `check` until it gives something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0): look at its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True
