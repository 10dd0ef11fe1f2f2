"""The bubblewrap sandbox's start: until the server has put it in its control group and
network, the sandbox waits. A start given up meanwhile (a call cancelled, the server
stopping) leaves nothing running, and a server that dies meanwhile leaves nothing that
runs the command: a sandbox let go on the way out would run it with none of its limits,
outliving the call."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen

import pytest

from sluice.paths import default_work_dir
from sluice.runtime.child import make_home
from sluice.sandbox.base import LaunchSpec, Network
from sluice.sandbox.bwrap import BwrapSandbox, Limits
from sluice.sandbox.choose import choose_sandbox
from tests.support.bwrap import needs_bwrap

pytestmark = [pytest.mark.anyio, needs_bwrap]


def _started(sandbox: BwrapSandbox, home: Path) -> tuple[str, LaunchSpec, Popen[bytes]]:
    """bwrap started on a command that leaves a file and lives on, found by its token."""
    token = f"sluice-unreleased-{uuid.uuid4().hex}"
    # `; :` keeps the shell (and the token) from exec'ing sleep away
    command = ["/bin/sh", "-c", f"echo ran > {home}/ran; sleep 600; :", token]
    spec = sandbox.launch(command, {}, home)
    bwrap = subprocess.Popen(
        spec.argv,
        env=dict(spec.env),
        cwd=spec.cwd,
        pass_fds=spec.pass_fds,
        start_new_session=spec.start_new_session,
        preexec_fn=spec.preexec_fn,
    )
    return token, spec, bwrap


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[BwrapSandbox]:
    made = choose_sandbox("bwrap", [tmp_path / "data"], [], network=Network.NONE, limits=Limits())
    assert isinstance(made, BwrapSandbox)
    yield made
    made.close()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    made = make_home(default_work_dir(tmp_path / "data"))
    yield made
    shutil.rmtree(made, ignore_errors=True)


def _running_with(token: str) -> list[int]:
    """Live processes whose command line holds `token` (a zombie's is empty)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if token.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile
    return found


async def _gone(token: str, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while _running_with(token):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_a_start_given_up_before_bwrap_names_the_sandbox_runs_nothing(
    sandbox: BwrapSandbox, home: Path
) -> None:
    token, spec, bwrap = _started(sandbox, home)
    assert spec.confiner is not None
    try:
        attaching = asyncio.ensure_future(spec.confiner.attach(bwrap.pid))
        await asyncio.sleep(0)  # it waits for bwrap's info now
        assert not attaching.done()
        attaching.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attaching
        # nobody else kills anything: the confiner's way out must leave nothing running
        assert await _gone(token, 10), f"still running: {_running_with(token)}"
        assert await asyncio.to_thread(bwrap.wait, 10) is not None
        assert not (home / "ran").exists()
    finally:
        for pid in _running_with(token):
            os.kill(pid, signal.SIGKILL)
        bwrap.kill()
        bwrap.wait()


async def test_a_sandbox_whose_server_dies_before_letting_it_go_runs_nothing(
    sandbox: BwrapSandbox, home: Path
) -> None:
    token, spec, bwrap = _started(sandbox, home)
    assert spec.confiner is not None
    try:
        # the sandbox's first process is made and waits (it shares bwrap's command line)
        deadline = asyncio.get_running_loop().time() + 10
        while len(_running_with(token)) < 2:
            assert asyncio.get_running_loop().time() < deadline, "no sandbox was made"
            await asyncio.sleep(0.01)
        spec.confiner.discard()  # the server's ends close, as when it dies: nothing killed
        assert await asyncio.to_thread(bwrap.wait, 10) != 0
        assert await _gone(token, 10), f"still running: {_running_with(token)}"
        assert not (home / "ran").exists()
    finally:
        for pid in _running_with(token):
            os.kill(pid, signal.SIGKILL)
        bwrap.kill()
        bwrap.wait()
