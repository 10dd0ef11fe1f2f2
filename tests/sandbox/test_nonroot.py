"""A server run by an ordinary user: bubblewrap's user namespace holds function processes,
the sandbox's network is reached through an agent process (a thread may not join a user
namespace), and a function still reaches Sluice's API and no loopback service.

The server runs as a user of its own made for the test, on the machine's own Python (the
project's virtual environment lives where only root may enter) with the project's packages
added to its path.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice.sandbox.bwrap import bwrap_works
from tests.sandbox.test_hostile import NODE_PROBE, _loopback_ports, invoke, result_of
from tests.support.server import SluiceServer

USER = "sluice-nonroot"
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _same_python() -> bool:
    """The machine's Python has this one's minor version (the packages' ABI)."""
    if not SYSTEM_PYTHON.exists():
        return False
    done = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() == str(sys.version_info[:2])


BWRAP = shutil.which("bwrap")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or BWRAP is None
    or not bwrap_works(BWRAP)
    or shutil.which("useradd") is None
    or not _same_python(),
    reason="needs root (to make the user), bubblewrap, and a system Python of this version",
)


def _user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(USER)


def _venv(where: Path) -> Path:
    """A virtual environment of the system Python that sees this one's packages."""
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(where)], check=True)
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    theirs = next((where / "lib").glob("python3*/site-packages"))
    (theirs / "sluice-project.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def server() -> Iterator[SluiceServer]:
    user = _user()
    root = Path(tempfile.mkdtemp(prefix="sluice-nonroot-", dir="/tmp"))
    python = _venv(root / "venv")
    (root / "home").mkdir()
    for path in (root / "home",):
        shutil.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(root, 0o755)
    shutil.chown(root, user.pw_uid, user.pw_gid)
    as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    # `sluice serve` run by that Python: argv[0] stays the sluice command's
    code = "import sys; sys.argv = sys.argv[1:]; from sluice.cli.main import main; main()"
    instance = SluiceServer(root, wrapper=[*as_user, "--", str(python), "-c", code])
    try:
        yield instance.start()
    finally:
        instance.close()
        shutil.rmtree(root, ignore_errors=True)


def test_the_sandbox_is_a_user_namespace(server: SluiceServer) -> None:
    log = server.log_path.read_text()
    assert "the server's user in a user namespace" in log
    assert "ERROR" not in log, log


def test_a_node_function_reaches_the_api_and_nothing_else(server: SluiceServer) -> None:
    ports = _loopback_ports()
    params = {"ports": ports, "secret": str(server.data_dir / "secret")}
    record = invoke(server, "nonroot-node", NODE_PROBE, "nodejs:20", params)
    result = result_of(record)
    assert record["response"]["success"] is True, result
    assert result["services"] == {str(port): "ECONNREFUSED" for port in ports}
    assert result["listed"] is True  # the bridge, made in its network by the agent
    assert result["caps"] == "0000000000000000"
    assert result["uid"] == str(pwd.getpwnam(USER).pw_uid)
    assert result["secret"] == "ENOENT"


def test_a_python_function_runs_too(server: SluiceServer) -> None:
    code = "import os\ndef main(args):\n    return {'uid': os.getuid()}\n"
    record = invoke(server, "nonroot-py", code, "python:3.11")
    assert result_of(record) == {"uid": pwd.getpwnam(USER).pw_uid}
