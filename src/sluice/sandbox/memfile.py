"""Data handed to bwrap from memory: a sealed-off file that exists on no path of the host."""

from __future__ import annotations

import os


def memory_file(label: str, data: bytes) -> int:
    """A descriptor of a memory file holding `data`, positioned at its start (bwrap reads
    `--seccomp`, `--ro-bind-data` and friends from there)."""
    fd = os.memfd_create(label, os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as memory:
            memory.write(data)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd
