"""Facts about other processes of this machine that several parts need."""

from __future__ import annotations

import os


def pid_running(pid: int) -> bool:
    """Whether a process `pid` exists (one of another user's counts: it is there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
