"""Without a sandbox that works Sluice does not start, unless told to run functions
unconfined, and then says so on every start. (Where bubblewrap is missing but the kernel
has Landlock, the default falls back to it: tests/sandbox/test_landlock.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.server import SLUICE, SluiceServer

#: a PATH on which no bwrap is found
NO_BWRAP = "/nonexistent"


def test_serve_refuses_to_start_without_bubblewrap(tmp_path: Path) -> None:
    server = SluiceServer(tmp_path, extra_env={"PATH": NO_BWRAP, "SLUICE_SANDBOX": "bwrap"})
    done = subprocess.run(
        [str(SLUICE), "serve"],
        env=server.server_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: bubblewrap (bwrap) is missing"), done.stderr
    assert "SLUICE_SANDBOX=none" in last
    assert "Traceback" not in done.stderr


def test_sandbox_none_starts_with_a_warning(tmp_path: Path) -> None:
    server = SluiceServer(tmp_path, extra_env={"PATH": NO_BWRAP, "SLUICE_SANDBOX": "none"})
    try:
        server.start()
        log = server.log_path.read_text()
        assert "SLUICE_SANDBOX=none: function processes run as Sluice's own user" in log
    finally:
        server.close()
