"""Namespace and function rows kept between requests, for the SQLite store.

Every call reads its namespace (the key check) and its function: point reads that each cost
50-90 us once another connection has written, since SQLite then drops the reader's whole
page cache, and under load something has always just written. Those rows seldom change, so
they are kept here. Whoever changes either table (this process, the worker process, the
`sluice namespace` admin command) puts new random bytes in a small file beside the
database once the change is committed; every lookup first compares them and forgets every
row when they differ. So a rotated key is refused at the next request. The file is mapped
into memory, so the comparison reads the page cache directly: no system call per lookup
(a call looks up four rows on its way through, and a pread each cost 2-3 us).

A change made to the file by other means (the sqlite3 shell) is seen within `_MAX_AGE_S`.
"""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_STAMP_BYTES = 8
#: rows at most; past it the cache starts over (lookups of names that do not exist count)
_MAX_ROWS = 4096
#: rows are read again after this, whatever the stamp says
_MAX_AGE_S = 10.0


class RowCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        #: the file's bytes, as every process sees them (a shared mapping of its page)
        self._map: mmap.mmap | None = None
        self._stamp = b""
        self._rows: dict[tuple[Any, ...], Any] = {}
        self._fresh_until = 0.0

    def open(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if os.fstat(self._fd).st_size < _STAMP_BYTES:
            # a new file: lengthened with zeros (a stamp written meanwhile is kept as it is)
            os.ftruncate(self._fd, _STAMP_BYTES)
        self._map = mmap.mmap(self._fd, _STAMP_BYTES, prot=mmap.PROT_READ)

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._rows.clear()

    def get(self, key: tuple[Any, ...], load: Callable[[], T]) -> T:
        """The row cached under `key`, else what `load` reads (kept, even when None)."""
        if self._map is None:
            return load()
        stamp = self._map[:_STAMP_BYTES]  # before `load`: a later change wins
        now = time.monotonic()
        if stamp != self._stamp or now > self._fresh_until or len(self._rows) >= _MAX_ROWS:
            self._rows.clear()
            self._stamp = stamp
            self._fresh_until = now + _MAX_AGE_S
        if key in self._rows:
            row: T = self._rows[key]
            return row
        row = load()
        self._rows[key] = row
        return row

    def changed(self) -> None:
        """The tables changed (committed): every process reads them again."""
        self._rows.clear()
        if self._fd is not None:
            os.pwrite(self._fd, os.urandom(_STAMP_BYTES), 0)
