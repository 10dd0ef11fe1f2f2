"""Spinners and bars for long CLI work: drawn on stderr when it is a terminal (a pty here),
absent down a pipe, and never on stdout, which keeps the answer alone."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

from tests.support.cli import sluice
from tests.support.server import SLUICE, SluiceServer

SLEEPER = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms}), args.ms || 0));
}
"""


def with_terminal_stderr(server: SluiceServer, *args: str) -> tuple[str, str]:
    """Run `sluice ARGS` with stderr on a pseudo-terminal (100 columns), stdout on a pipe:
    (stdout, what the terminal was sent)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**server.cli_env, "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [str(SLUICE), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    sent = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: every end of the terminal's other side is closed
            break
        if not chunk:
            break
        sent += chunk
    os.close(leader)
    out, _ = process.communicate(timeout=150)
    stdout = out.decode()
    assert process.returncode == 0, stdout + sent.decode(errors="replace")
    return stdout, sent.decode(errors="replace")


def test_a_blocking_invoke_spins_on_a_terminal_only(server: SluiceServer, tmp_path: Path) -> None:
    code = tmp_path / "sleeper.js"
    code.write_text(SLEEPER)
    sluice(server, "action", "create", "progress-sleeper", str(code))

    stdout, terminal = with_terminal_stderr(
        server, "action", "invoke", "progress-sleeper", "-r", "-p", "ms", "700"
    )
    assert json.loads(stdout) == {"slept": 700}  # stdout holds the answer alone
    assert "running progress-sleeper" in terminal
    assert "0:00:0" in terminal  # the time spent

    piped = sluice(server, "action", "invoke", "progress-sleeper", "-r", "-p", "ms", "700")
    assert json.loads(piped.stdout) == {"slept": 700}
    assert piped.stderr == ""


def test_wait_draws_a_bar_towards_its_limit(server: SluiceServer, tmp_path: Path) -> None:
    code = tmp_path / "sleeper.js"
    code.write_text(SLEEPER)
    sluice(server, "action", "create", "progress-waited", str(code))
    accepted = json.loads(
        sluice(server, "action", "invoke", "progress-waited", "-p", "ms", "1500").stdout
    )
    activation_id = accepted["activationId"]
    stdout, terminal = with_terminal_stderr(
        server, "activation", "get", activation_id, "--wait", "60", "--json"
    )
    assert json.loads(stdout)["response"]["result"] == {"slept": 1500}
    assert f"waiting for {activation_id}" in terminal
    assert "━" in terminal  # the bar
