"""`sluice top`: the live view driven in a real terminal (tmux), its screen read back; one
screen as plain text, fitted to the terminal's width; the same figures as JSON."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from tests.support.cli import sluice, sluice_json
from tests.support.server import SLUICE, SluiceServer, wait_for

from sluice.cli.top_view import duration, render

SLEEPER = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms}), args.ms || 0));
}
"""
#: a copy of the captured screen goes here when set (the docs quote it)
SCREENS = os.environ.get("SLUICE_TEST_SCREENS", "")

needs_tmux = pytest.mark.skipif(
    shutil.which("tmux") is None and not os.environ.get("CI"),
    reason="tmux is not installed (scripts/setup-system installs it)",
)


#: the summary row: queued, oldest wait (`--`, `850 ms`, `3.1 s`, `2m05s`), running, ...
SUMMARY_ROW = re.compile(
    r"\s*(?P<queued>\d+)\s+(?P<oldest>--|[\d.]+ ?[a-z\d]+)\s+(?P<running>\d+)\s"
)


def summary(screen: str) -> dict[str, str]:
    """The figures of the summary row: the first line after the QUEUED header's rule."""
    lines = screen.splitlines()
    at = next(i for i, line in enumerate(lines) if "QUEUED" in line)
    found = SUMMARY_ROW.match(lines[at + 2])
    assert found is not None, lines[at + 2]
    return found.groupdict()


def deploy(server: SluiceServer, tmp_path: Path) -> None:
    code = tmp_path / "sleeper.js"
    code.write_text(SLEEPER)
    for name in ("quick", "slow"):
        sluice(server, "action", "create", name, str(code), "-t", "60000")
    for ms in ("1", "300"):
        sluice(server, "action", "invoke", "quick" if ms == "1" else "slow", "-b", "-p", "ms", ms)


@needs_tmux
def test_top_in_tmux_shows_the_queue_running_calls_and_slowest(
    new_server: Callable[..., SluiceServer], tmp_path: Path
) -> None:
    # one call runs at a time, so that of two long calls one waits in the queue
    srv = new_server(SLUICE_MAX_RUNNING="1").start()
    deploy(srv, tmp_path)
    socket = str(tmp_path / "tmux")
    env = [f"{key}={value}" for key, value in {**srv.cli_env, "TERM": "xterm-256color"}.items()]
    command = shlex.join(["env", "-i", *env, str(SLUICE), "top", "--interval", "0.3"])
    tmux = ["tmux", "-S", socket]
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "120", "-y", "40", command], check=True, timeout=30
    )
    try:
        seen = [""]

        def capture() -> str:
            seen[0] = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, timeout=30
            ).stdout
            return seen[0]

        wait_for(lambda: "QUEUED" in capture(), 60, "sluice top's first screen")
        for _ in range(2):
            sluice(srv, "action", "invoke", "slow", "-p", "ms", "20000")

        def busy() -> str | None:
            screen = capture()
            figures = summary(screen)
            return screen if (figures["queued"], figures["running"]) == ("1", "1") else None

        try:
            screen = wait_for(busy, 60, "one call running and one queued on the screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the last screen:\n{seen[0]}") from None
        if SCREENS:
            Path(SCREENS).mkdir(parents=True, exist_ok=True)
            (Path(SCREENS) / "sluice-top.txt").write_text(screen.rstrip() + "\n")
        assert "sluice top  guest at " + srv.url in screen
        assert "Running (1)" in screen
        running = screen.split("Running (1)")[1].split("Slowest")[0]
        assert "guest/slow" in running
        slowest = screen.split("Slowest functions")[1]
        rows = [line.split()[0] for line in slowest.splitlines() if "guest/" in line]
        assert rows == ["guest/slow", "guest/quick"]
        assert all(len(line) <= 120 for line in screen.splitlines())

        subprocess.run([*tmux, "send-keys", "C-c"], check=True, timeout=30)
        wait_for(
            lambda: subprocess.run([*tmux, "has-session"], capture_output=True).returncode != 0,
            30,
            "sluice top to quit on Ctrl-C",
        )
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=30)


def test_top_once_fits_the_terminal_and_json_is_the_same_figures(
    new_server: Callable[..., SluiceServer], tmp_path: Path
) -> None:
    server = new_server().start()  # of its own: the slowest ten are those of this test
    deploy(server, tmp_path)
    narrow = sluice(server, "top", "--once", env={**server.cli_env, "COLUMNS": "60"})
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert any(line.lstrip().startswith("guest/slow") for line in lines)
    assert "\x1b[" not in narrow.stdout  # not a terminal: no colours, no cursor moves
    assert narrow.stderr == ""
    stats = sluice_json(server, "top", "--json", "--window", "3600")
    assert stats["windowSeconds"] == 3600
    assert {"guest/quick", "guest/slow"} <= {item["action"] for item in stats["slowest"]}


def test_a_stale_screen_says_why_and_durations_read_short() -> None:
    stats = {"namespace": "guest", "now": 1796608160993, "queued": 3, "byStatus": {"timeout": 2}}
    console = Console(width=60, record=True, color_system=None)
    console.print(render(stats, "http://h:1", problem="not updated: cannot reach Sluice"))
    text = console.export_text()
    assert "not updated: cannot reach Sluice" in text
    assert "TIMEOUT" in text
    assert max(len(line) for line in text.splitlines()) <= 60
    assert [duration(v) for v in (None, 850, 12_400, 185_000, 7_800_000)] == [
        "--",
        "850 ms",
        "12.4 s",
        "3m05s",
        "2h10m",
    ]
