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
from ipaddress import IPv4Network
from pathlib import Path
from subprocess import Popen

import psutil
import pytest

from sluice.paths import default_work_dir
from sluice.runtime.child import make_home
from sluice.sandbox import bwrap as bwrap_module
from sluice.sandbox.base import LaunchSpec, Network
from sluice.sandbox.bwrap import BwrapSandbox, Limits
from sluice.sandbox.cgroups import ProcessGroup
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


def _kill(token: str, bwrap: Popen[bytes]) -> None:
    for pid in _running_with(token):
        os.kill(pid, signal.SIGKILL)
    bwrap.kill()
    bwrap.wait()


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
        _kill(token, bwrap)


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
        _kill(token, bwrap)


def _groups_left(sandbox: BwrapSandbox) -> list[Path]:
    assert sandbox.cgroups is not None
    return [p for h in sandbox.cgroups.hierarchies for p in h.base.iterdir() if p.is_dir()]


async def _fails_late() -> None:
    await asyncio.sleep(0.2)  # the group's thread has long made and joined it
    raise OSError("the network failed")


async def _slow(*_: object) -> None:
    await asyncio.sleep(0.2)


@pytest.mark.parametrize("failing", ["network", "group"])
async def test_a_failed_step_of_the_start_undoes_the_others_and_runs_nothing(
    sandbox: BwrapSandbox, home: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The control group is made beside the network: either failing, the other has ended,
    the sandbox is dead and the group gone before the start raises."""
    if sandbox.cgroups is None:
        pytest.skip("no control groups here (needs root)")
    if failing == "network":
        monkeypatch.setattr(bwrap_module, "loopback_ready", lambda _: _fails_late())
    else:
        monkeypatch.setattr(bwrap_module, "loopback_ready", _slow)
        monkeypatch.setattr(ProcessGroup, "join", _refuse_join)
    await _failed_start_leaves_nothing(sandbox, home, "failed")


async def _failed_start_leaves_nothing(sandbox: BwrapSandbox, home: Path, error: str) -> None:
    """bwrap started, its start failing with `error`: nothing of it is left, nothing ran."""
    token, spec, bwrap = _started(sandbox, home)
    assert spec.confiner is not None
    try:
        with pytest.raises(OSError, match=error):
            await spec.confiner.attach(bwrap.pid)
        assert await _gone(token, 10), f"still running: {_running_with(token)}"
        assert not [c for c in psutil.Process().children() if c.name() == "slirp4netns"]
        assert _groups_left(sandbox) == []
        assert not (home / "ran").exists()
    finally:
        _kill(token, bwrap)


def _refuse_join(self: ProcessGroup, pid: int) -> None:
    raise OSError("the group failed")


async def test_a_start_whose_routes_are_refused_leaves_nothing_behind(
    tmp_path: Path, home: Path
) -> None:
    """slirp4netns starts beside the API listener and the group's thread: its routes refused
    (this one exists already: slirp4netns's own network), all three are undone."""
    sandbox = choose_sandbox(
        "bwrap",
        [tmp_path / "data"],
        [],
        network=Network.EGRESS,
        api=("127.0.0.1", 9),
        limits=Limits(),
        egress_allow=[IPv4Network("10.0.2.0/24")],
    )
    assert isinstance(sandbox, BwrapSandbox)
    try:
        if sandbox.egress is None or sandbox.cgroups is None:
            pytest.skip("no egress or no control groups here")
        await _failed_start_leaves_nothing(sandbox, home, "File exists")
    finally:
        sandbox.close()
