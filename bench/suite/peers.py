"""The Python task queues a user would pick instead, run by ../shared/bench-peers's own
harness (queue_bench.py, one subprocess per queue) from a venv of their own under .cache/
(never Sluice's): Celery, RQ, Dramatiq, arq and huey on the local Redis."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.core import REPO
from bench.suite.common import log

VENV = REPO / ".cache" / "peers-venv"
WORK = REPO / ".cache" / "peers-work"
#: what each name runs, in the harness's words (its README has the worker commands)
DESCRIPTION = {
    "celery": "Celery (Redis broker, no result backend)",
    "rq": "RQ (default forking Worker)",
    "rq-simple": "RQ (SimpleWorker, no fork per job)",
    "dramatiq": "Dramatiq (Redis)",
    "arq": "arq (Redis)",
    "huey": "huey (Redis)",
}


def ensure_venv(peers_dir: Path) -> str | None:
    """Make .cache/peers-venv with the harness's pinned requirements; None when it works,
    else why not. Installed once per requirements file (a stamp holds its hash)."""
    requirements = peers_dir / "requirements.txt"
    if not requirements.is_file():
        return f"no {requirements}"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = VENV / ".requirements-sha256"
    if stamp.is_file() and stamp.read_text() == digest:
        return None
    log(f"peers: installing {requirements} into {VENV}")
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = [str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "-r", str(requirements)], check=False, timeout=1200)
    if done.returncode != 0:
        return f"pip install -r {requirements} failed (exit {done.returncode})"
    stamp.write_text(digest)
    return None


def redis_up(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def run_peer(peers_dir: Path, lib: str, n: int, budget: float) -> dict[str, Any]:
    """One queue end to end: its figures as the harness prints them (one JSON line), or
    {"error": why}."""
    WORK.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PEERS_WORK": str(WORK)}
    argv = [str(VENV / "bin" / "python"), "queue_bench.py", lib, "--n", str(n)]
    try:
        done = subprocess.run(
            [*argv, "--budget", str(budget)],
            cwd=peers_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=budget + 180,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {budget + 180:.0f} s"}
    return parse_output(done.stdout, done.stderr, done.returncode)


def parse_output(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    """The last line of queue_bench.py's output is its JSON figures."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if lines:
        try:
            value = json.loads(lines[-1])
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
    tail = (stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {returncode}: {tail[:300]}"}
