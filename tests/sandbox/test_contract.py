"""What every sandbox gives a function's process, one body run in each this machine can
make: rlimits alone (SLUICE_SANDBOX=none), bubblewrap and Landlock. Its own directory as
cwd, HOME and TMPDIR, writable; the variables it is given and none of the server's; its
secrets as files; its limits; and nothing it starts outlives it."""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice.paths import default_work_dir
from sluice.runtime.child import Child, make_home
from sluice.sandbox import landlock
from sluice.sandbox.base import Network, Sandbox
from sluice.sandbox.bwrap import Limits, bwrap_works
from sluice.sandbox.choose import choose_sandbox
from sluice.sandbox.rlimits import RlimitSandbox
from tests.support.bwrap import BWRAP

pytestmark = pytest.mark.anyio

SANDBOXES = ("rlimits", "bwrap", "landlock")
OPEN_FILES = 64
#: an interpreter every user may run (the server's may sit in root's home)
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable

PROBE = """
import json, os, resource, subprocess
with open("mine", "w") as f:
    f.write("x")
subprocess.Popen(["sleep", "60"])  # it holds this process's stdout: closed once it is gone
secrets = os.environ.get("SLUICE_SECRETS")
print(json.dumps({
    "cwd": os.getcwd(),
    "home": os.environ["HOME"],
    "tmp": os.environ["TMPDIR"],
    "given": os.environ.get("GIVEN"),
    "leaked": "SLUICE_CONTRACT_SECRET" in os.environ,
    "open_files": resource.getrlimit(resource.RLIMIT_NOFILE),
    "core": resource.getrlimit(resource.RLIMIT_CORE),
    "token": open(os.path.join(secrets, "token")).read() if secrets else None,
}), flush=True)
"""


def _make(kind: str, hidden: Path) -> Sandbox:
    if kind == "rlimits":
        limits = {
            resource.RLIMIT_CORE: (0, 0),
            resource.RLIMIT_NOFILE: (OPEN_FILES, OPEN_FILES),
        }
        return RlimitSandbox(limits=limits)
    if kind == "bwrap" and (BWRAP is None or not bwrap_works(BWRAP)):
        pytest.skip("bubblewrap is missing or cannot make namespaces here")
    if kind == "landlock" and landlock.abi() < 1:
        pytest.skip("this kernel has no Landlock")
    limits_ = Limits(open_files=OPEN_FILES)
    return choose_sandbox(kind, [hidden], [], network=Network.NONE, limits=limits_)


@pytest.fixture(params=SANDBOXES)
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    made = _make(str(request.param), tmp_path / "data")
    yield made
    made.close()


@pytest.fixture
def work_dir(tmp_path: Path) -> Iterator[Path]:
    """Where the server would put processes' directories (on /dev/shm where it can)."""
    work = default_work_dir(tmp_path / "data")
    yield work
    shutil.rmtree(work, ignore_errors=True)


async def test_a_process_gets_its_own_directory_its_variables_and_limits_and_no_heir(
    sandbox: Sandbox, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLUICE_CONTRACT_SECRET", "the server's")
    home = make_home(work_dir)
    spec = sandbox.launch(
        [PYTHON, "-S", "-c", PROBE], {"GIVEN": "1"}, home, secrets={"token": b"s3"}
    )
    lines: list[tuple[str, bytes]] = []
    child = await Child.spawn(spec, lambda stream, line, _: lines.append((stream, line)))
    try:
        async with asyncio.timeout(30):
            await child.exited
            # the background process it left held the pipes: they close once it is killed
            await asyncio.shield(child.closed)
        assert child.returncode == 0, lines
        [(stream, line)] = lines
        seen = json.loads(line)
        assert stream == "stdout"
        assert seen["cwd"] == seen["home"] == seen["tmp"]
        assert (home / "mine").read_text() == "x"  # its directory is the one it was given
        assert (seen["given"], seen["leaked"], seen["token"]) == ("1", False, "s3")
        assert seen["open_files"] == [OPEN_FILES, OPEN_FILES]
        assert seen["core"] == [0, 0]
    finally:
        await child.close()
    assert not home.exists()
