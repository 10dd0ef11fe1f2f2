"""Running the real `sluice` console script against a test server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.server import SLUICE, SluiceServer


def sluice(
    server: SluiceServer,
    *args: str,
    env: dict[str, str] | None = None,
    ok: bool = True,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `sluice ARGS` against `server` in `cwd`, reading `stdin` (else nothing); with `ok`,
    fail the test on a non-zero exit."""
    done = subprocess.run(
        [str(SLUICE), *args],
        cwd=cwd,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        env=env if env is not None else server.cli_env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    if ok:
        assert done.returncode == 0, f"sluice {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def sluice_json(server: SluiceServer, *args: str) -> Any:
    return json.loads(sluice(server, *args).stdout)
