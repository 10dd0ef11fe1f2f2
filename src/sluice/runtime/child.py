"""One child process: launched through the sandbox, its stdout and stderr read as lines, its
exit seen through a pidfd (no waiter thread), killed as a whole process group, its directory
removed once it is gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from sluice.processes import pid_running
from sluice.runtime.logs import STDERR, STDOUT, LineSplitter
from sluice.sandbox.base import UNCONFINED, Confinement, LaunchSpec

log = logging.getLogger("sluice.runtime")

#: (stream, line, epoch ns when it arrived)
LineSink = Callable[[str, bytes, int], None]


def make_home(work_dir: Path) -> Path:
    """A fresh private directory for one process: its cwd, HOME and TMPDIR."""
    work_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"proc-{os.getpid()}-", dir=work_dir))


def _popen(
    spec: LaunchSpec,
    pass_fds: Sequence[int],
    stdin: int | None,
    stdout: int | None = None,
    stderr: int | None = None,
) -> subprocess.Popen[bytes]:
    # fork and exec block the loop briefly, as asyncio's own subprocess support does
    return subprocess.Popen(
        spec.argv,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE if stderr is None else stderr,
        env=dict(spec.env),
        cwd=spec.cwd,
        start_new_session=spec.start_new_session,
        preexec_fn=spec.preexec_fn,
        pass_fds=(*pass_fds, *spec.pass_fds),
    )


def sweep_homes(work_dir: Path) -> None:
    """Remove the directories processes of earlier, no longer running, Sluice servers left."""
    if not work_dir.is_dir():
        return
    for entry in work_dir.glob("proc-*-*"):
        owner = entry.name.split("-")[1]
        if owner.isdigit() and int(owner) != os.getpid() and not pid_running(int(owner)):
            shutil.rmtree(entry, ignore_errors=True)


class _OutputPipe(asyncio.Protocol):
    def __init__(self, child: Child, stream: str) -> None:
        self.child = child
        self.stream = stream
        self.now = 0
        self.splitter = LineSplitter(self._line)

    def _line(self, line: bytes) -> None:
        self.child.sink(self.stream, line, self.now)

    def data_received(self, data: bytes) -> None:
        self.now = time.time_ns()
        self.splitter.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.now = time.time_ns()
        self.splitter.flush()
        self.child._stream_closed(self.stream)


class Child:
    def __init__(self, popen: subprocess.Popen[bytes], home: Path, sink: LineSink) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.home = home
        self.sink = sink
        loop = asyncio.get_running_loop()
        #: set when the process has exited (its pipes may still be open)
        self.exited: asyncio.Future[None] = loop.create_future()
        #: set when the process has exited and its stdout and stderr are closed
        self.closed: asyncio.Future[None] = loop.create_future()
        self.on_exit: Callable[[], None] | None = None
        self.on_stream_end: Callable[[str], None] | None = None
        self._open_streams = {stream for stream, pipe in self._pipes() if pipe is not None}
        self._transports: list[asyncio.BaseTransport] = []
        self._pidfd: int | None = None
        self._waiter: asyncio.Future[int] | None = None
        #: what the sandbox holds the process in (its control group, its network)
        self.confinement: Confinement = UNCONFINED

    @classmethod
    async def spawn(
        cls,
        spec: LaunchSpec,
        sink: LineSink,
        pass_fds: Sequence[int] = (),
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> Child:
        """Start `spec` (reading `stdin`, a file descriptor, or nothing); its directory
        `spec.cwd` belongs to the child from now on. `stdout` and `stderr` may be file
        descriptors to write to instead of pipes whose lines go to `sink`."""
        try:
            popen = _popen(spec, pass_fds, stdin, stdout, stderr)
        except BaseException:
            if spec.confiner is not None:
                spec.confiner.discard()
            await asyncio.to_thread(shutil.rmtree, spec.cwd, True)
            raise
        child = cls(popen, spec.cwd, sink)
        try:
            if spec.confiner is not None:
                child.confinement = await spec.confiner.attach(popen.pid)
            await child._attach()
        except BaseException:
            child.kill()
            popen.wait()
            child._close_pipes()
            await child.confinement.release()
            await asyncio.to_thread(shutil.rmtree, spec.cwd, True)
            raise
        return child

    async def _attach(self) -> None:
        loop = asyncio.get_running_loop()
        for stream, pipe in self._pipes():
            if pipe is None:
                continue
            transport, _ = await loop.connect_read_pipe(self._pipe_protocol(stream), pipe)
            self._transports.append(transport)
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            # no pidfd (old kernel): one thread waits for this process
            waiter = asyncio.ensure_future(asyncio.to_thread(self.popen.wait))
            waiter.add_done_callback(lambda _: self._process_exited())
            self._waiter = waiter
        else:
            loop.add_reader(self._pidfd, self._process_exited)

    def _pipes(self) -> tuple[tuple[str, IO[bytes] | None], ...]:
        return ((STDOUT, self.popen.stdout), (STDERR, self.popen.stderr))

    def _pipe_protocol(self, stream: str) -> Callable[[], _OutputPipe]:
        return lambda: _OutputPipe(self, stream)

    @property
    def alive(self) -> bool:
        return not self.exited.done()

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def kill(self) -> None:
        """Kill the process and everything it started (its process group)."""
        # the group outlives its leader: this also reaches what is left once it has exited
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def _process_exited(self) -> None:
        if self.popen.poll() is None:
            return
        if self._pidfd is not None:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self.exited.done():
            return
        self.exited.set_result(None)
        # leftovers of the function (background children) go with it, closing the pipes
        self.kill()
        if self.on_exit is not None:
            self.on_exit()
        self._check_closed()

    def _stream_closed(self, stream: str) -> None:
        self._open_streams.discard(stream)
        if self.on_stream_end is not None:
            self.on_stream_end(stream)
        self._check_closed()

    def _check_closed(self) -> None:
        if not self._open_streams and self.exited.done() and not self.closed.done():
            self.closed.set_result(None)

    def _close_pipes(self) -> None:
        for transport in self._transports:
            transport.close()
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()

    async def close(self, grace: float = 5.0) -> None:
        """Kill the process, wait until it is gone (it exited and was reaped, what it left
        holding its output gone too, or `grace` seconds passed) and remove its directory.
        A process the kernel does not end within another `grace` seconds of SIGKILL (stuck
        in an uninterruptible wait) is given up on, logged: it is reaped when it ends."""
        self.kill()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.shield(self.closed)
        self._close_pipes()
        if not self.exited.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.shield(self.exited)  # seen through its pidfd, or a thread
        if not self.exited.done():
            log.warning("pid %d has not exited %g s after SIGKILL; given up on", self.pid, grace)
        await self.confinement.release()
        await asyncio.to_thread(shutil.rmtree, self.home, True)
