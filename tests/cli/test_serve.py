"""`sluice serve --role/--queue` and SLUICE_WORKER_PROCESS: bad combinations are refused with
a usage message."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.server import SLUICE


def _serve(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | (env or {})
    env["SLUICE_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [str(SLUICE), "serve", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_role_without_a_shared_queue_is_refused(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--role", "worker")
    assert done.returncode == 2
    assert "--role worker shares work with other processes: it needs --queue nats://" in (
        done.stderr
    )


def test_an_unknown_queue_is_refused(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--queue", "redis://localhost")
    assert done.returncode == 2
    assert "queue must be 'embedded' or a nats:// (or tls://) URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_worker_process_needs_role_all_and_the_embedded_queue(tmp_path: Path) -> None:
    for args in (["--role", "api", "--queue", "nats://127.0.0.1:4222"], ["--role", "worker"]):
        done = _serve(tmp_path, *args, env={"SLUICE_WORKER_PROCESS": "1"})
        assert done.returncode == 2
        assert "SLUICE_WORKER_PROCESS splits one embedded Sluice in two processes" in done.stderr


def test_a_password_in_a_flag_is_warned_of_and_never_shown(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--store", "postgresql://sluice:s3cret@127.0.0.1:1/sluice")
    assert done.returncode != 0
    assert "warning: the --store URL has a password" in done.stderr
    assert "set SLUICE_STORE instead" in done.stderr
    # PostgreSQL is unreachable there: one line says so, with the password masked
    [line] = [line for line in done.stderr.splitlines() if "cannot start" in line]
    assert "postgresql://sluice:***@127.0.0.1:1/sluice" in line
    assert "s3cret" not in done.stderr
    assert "Traceback" not in done.stderr
