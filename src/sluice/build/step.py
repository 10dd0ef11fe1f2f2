"""One build command (go build, pip install, npm install) run in the sandbox in a fresh
directory, its output lines kept as the build log; what it made is moved out before the
directory goes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

from sluice.build.errors import BuildFailed
from sluice.runtime.child import Child, make_home
from sluice.sandbox.base import Sandbox

T = TypeVar("T")
#: the machine's settings a build passes on to pip, npm and go (proxies, package indexes,
#: CA bundles); nothing else of the server's environment reaches a build
_PASSED = ("http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")
_PASSED_PREFIXES = ("PIP_", "NPM_CONFIG_", "npm_config_")
#: Go's checksum and private-module settings (its proxy is settings.goproxy)
_PASSED_GO = ("GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOINSECURE")
#: the most log kept per step
_LOG_MAX_LINES = 400


def passed_env() -> dict[str, str]:
    out = {}
    for key, value in os.environ.items():
        named = key in _PASSED or key.upper() in _PASSED or key in _PASSED_GO
        if named or key.startswith(_PASSED_PREFIXES):
            out[key] = value
    return out


class Step:
    def __init__(self, sandbox: Sandbox, work_dir: Path, timeout_seconds: float) -> None:
        self.sandbox = sandbox
        self.work_dir = work_dir
        self.timeout = timeout_seconds

    async def run(
        self,
        name: str,
        prepare: Callable[[Path], tuple[Sequence[str], Mapping[str, str]]],
        collect: Callable[[Path], Awaitable[T]],
        visible: Sequence[Path] = (),
    ) -> tuple[T, str]:
        """`prepare(home)` lays out the inputs and gives the command and its variables;
        `collect(home)` takes what the command made once it has succeeded. Returns that and
        the log. `visible`: what the command must see read-only besides the system (an
        interpreter installed elsewhere)."""
        home = make_home(self.work_dir)
        lines: list[str] = []

        def sink(stream: str, line: bytes, ns: int) -> None:
            lines.append(line.decode("utf-8", "replace"))
            if len(lines) > _LOG_MAX_LINES:
                del lines[0]

        try:
            argv, env = await asyncio.to_thread(prepare, home)
            spec = self.sandbox.launch(argv, {**passed_env(), **env}, home, visible=visible)
            # a build is throughput work: accepting calls comes first when the cores are busy
            spec = dataclasses.replace(spec, preexec_fn=partial(_yield_the_cpu, spec.preexec_fn))
            child = await Child.spawn(spec, sink)
        except OSError as exc:
            await asyncio.to_thread(shutil.rmtree, home, True)
            raise BuildFailed(f"{name} cannot start: {exc}") from exc
        try:
            try:
                async with asyncio.timeout(self.timeout):
                    await asyncio.shield(child.exited)
            except TimeoutError:
                child.kill()
                log = "\n".join(lines)
                raise BuildFailed(f"{name} took longer than {self.timeout:g} s", log) from None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await asyncio.shield(child.closed)
            log = "\n".join(lines)
            if child.returncode != 0:
                raise BuildFailed(f"{name} exited with status {child.returncode}", log)
            return await collect(home), log
        finally:
            await child.close()


#: how much lower than the server a build runs (the worker process's own step)
_BUILD_NICE = 10


def _yield_the_cpu(then: Callable[[], None] | None) -> None:
    """In the build's child before exec: a lower priority, a batch task (as the worker
    process), then the sandbox's own step."""
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    os.nice(_BUILD_NICE)
    if then is not None:
        then()
