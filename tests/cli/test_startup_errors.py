"""The `sluice` command as the README shows it: the shared options work before and after a
command's name, and a start that cannot go on says why in one line, with no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.support.cli import sluice
from tests.support.server import SLUICE, SluiceServer, free_port


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    return subprocess.run(
        [str(SLUICE), *args],
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_serve_takes_data_dir_after_the_command(tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    srv = SluiceServer(tmp_path / "srv", serve_args=["--data-dir", str(chosen)])
    try:
        srv.start()
        assert f"(data in {chosen}," in srv.stdout_path.read_text()
        assert (chosen / "sluice.db").exists()
        assert not (srv.data_dir / "sluice.db").exists()
        # the client options after the command, as after `sluice`
        listed = sluice(srv, "action", "list", "--apihost", srv.url, "--auth", srv.auth)
        assert listed.stdout.startswith("Datetime")
        refused = sluice(srv, "action", "list", "--apihost", srv.url, "--auth", "no:body", ok=False)
        assert refused.stderr.endswith("(401 Unauthorized)\n")
        assert srv.stop()
        # an admin command reads the same data dir, the option before or after its name
        after = sluice(srv, "namespace", "list", "--data-dir", str(chosen)).stdout
        before = sluice(srv, "--data-dir", str(chosen), "namespace", "list").stdout
        assert "guest" in after.split()
        assert before == after
        # the server's own data dir (SLUICE_DATA_DIR) has no namespace: the flag was used
        assert "guest" not in sluice(srv, "namespace", "list").stdout.split()
    finally:
        srv.close()


def test_a_bad_setting_is_one_line(tmp_path: Path) -> None:
    done = _run("serve", env={"SLUICE_DATA_DIR": str(tmp_path), "SLUICE_PORT": "abc"})
    assert done.returncode == 2
    assert _one_line(done.stderr).startswith("Error: bad setting SLUICE_PORT: ")
    assert "(got 'abc')" in done.stderr
    queue = _run("serve", env={"SLUICE_DATA_DIR": str(tmp_path), "SLUICE_QUEUE": "redis://x"})
    assert queue.returncode == 2
    assert "bad setting SLUICE_QUEUE: queue must be 'embedded'" in _one_line(queue.stderr)


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    data_dir = tmp_path / "file" / "data"
    done = _run("serve", "--data-dir", str(data_dir), "--port", str(free_port()), env={})
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert line == (
        f"Error: the data dir {data_dir} cannot be used: Not a directory (set --data-dir or"
        " SLUICE_DATA_DIR to a directory this user can write)"
    )


def test_a_taken_port_is_one_line_and_nothing_is_made(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("serve", "--port", str(port), env={"SLUICE_DATA_DIR": str(tmp_path / "d")})
    assert done.returncode == 1
    assert _one_line(done.stderr) == (
        f"Error: 127.0.0.1 port {port} is taken by another program: stop it, or choose"
        " another with --port"
    )
    assert not (tmp_path / "d" / "sluice.db").exists()


def test_version_and_short_help() -> None:
    version = _run("--version", env={})
    assert version.returncode == 0
    assert version.stdout.startswith("sluice 0.")
    for args in (["-h"], ["serve", "-h"], ["activation", "get", "-h"]):
        done = _run(*args, env={})
        assert done.returncode == 0
        assert done.stdout.startswith("Usage: sluice")
