"""prometheus_client's multi-process values, written to their files in batches.

The library's own multi-process value writes its file on every update, under a lock and
after a check for a fork: about a microsecond an update, and an accept makes five or six
(5% of the API process's instructions per accept, counted with callgrind). These keep each
update in memory and write what changed at most `FLUSH_S` later, from a thread of their
own, or at once when this process serves a scrape (`flush`). So another process's scrape
sees an update at most `FLUSH_S` late; the files and their format are the library's.

Imported only once PROMETHEUS_MULTIPROC_DIR is set (see observe/metrics.py)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, ClassVar

from prometheus_client.mmap_dict import MmapedDict, mmap_key

#: seconds an update may wait before it reaches the file
FLUSH_S = 0.25


class BatchedValues:
    """The values of one process: its files (one per metric type, named by its pid, as the
    library names them), what changed since the last flush, and the thread that writes it."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        #: held for every read and update of a value (the writer thread flushes beside them)
        self.lock = threading.Lock()
        self._files: dict[str, MmapedDict] = {}
        self._values: list[BatchedValue] = []
        self._changed: list[BatchedValue] = []
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        #: forked since the values were read: they are read anew before the next use
        self.stale = False
        os.register_at_fork(after_in_child=self._forked)

    def value_class(self) -> type[BatchedValue]:
        """The class for `prometheus_client.values.ValueClass`."""
        return type("BatchedValue", (BatchedValue,), {"values": self})

    def flush(self) -> None:
        """Write every value changed since the last flush."""
        with self.lock:
            if self.stale:
                return  # nothing changed here since the fork
            for value in self._changed:
                value.write()
            self._changed.clear()

    def file(self, prefix: str) -> MmapedDict:
        if prefix not in self._files:
            named = f"{prefix}_{self._pid}.db"
            path = os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], named)
            self._files[prefix] = MmapedDict(path)  # type: ignore[no-untyped-call]
        return self._files[prefix]

    def add(self, value: BatchedValue) -> None:
        with self.lock:
            self.renew()
            value.attach()
            self._values.append(value)

    def changed(self, value: BatchedValue) -> None:
        """`value` changed; the lock is held."""
        if not self._changed:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="metrics", daemon=True)
                self._writer.start()
            self._wake.set()
        self._changed.append(value)

    def renew(self) -> None:
        """After a fork: count from zero in files of this process's pid, as the library
        does (what the parent had not written yet is the parent's). The lock is held."""
        if not self.stale:
            return
        self.stale = False
        self._pid = os.getpid()
        for made in self._files.values():
            made.close()  # type: ignore[no-untyped-call]
        self._files.clear()
        for value in self._values:
            value.attach()

    def _write(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(FLUSH_S)  # let updates gather
            self.flush()

    def _forked(self) -> None:
        # runs in every child forked, those about to exec too: only what is cheap here, the
        # files wait for a first use. The parent's writer thread may have held the lock at
        # the fork, and is not here.
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._writer = None
        self._changed.clear()
        self.stale = True


class BatchedValue:
    """One sample's value: the library's value interface, kept in memory until flushed."""

    _multiprocess = True
    #: the process's values this one is among (set by `BatchedValues.value_class`)
    values: ClassVar[BatchedValues]

    def __init__(
        self,
        typ: str,
        metric_name: str,
        name: str,
        labelnames: list[str],
        labelvalues: list[str],
        help_text: str,
        multiprocess_mode: str = "",
        **_: Any,
    ) -> None:
        # the library's file for each type (and each gauge's mode), and its key
        self._prefix = f"{typ}_{multiprocess_mode}" if typ == "gauge" else typ
        self._key = mmap_key(metric_name, name, labelnames, labelvalues, help_text)
        self._value = self._timestamp = 0.0
        self._changed = False
        self.values.add(self)

    def attach(self) -> None:
        self._file = self.values.file(self._prefix)
        self._value, self._timestamp = self._file.read_value(self._key)  # type: ignore[no-untyped-call]
        self._changed = False

    def write(self) -> None:
        self._file.write_value(self._key, self._value, self._timestamp)  # type: ignore[no-untyped-call]
        self._changed = False

    def inc(self, amount: float) -> None:
        values = self.values
        with values.lock:
            if values.stale:
                values.renew()
            self._value += amount
            self._timestamp = 0.0
            if not self._changed:
                self._changed = True
                values.changed(self)

    def observed(self, amount: float, bucket: BatchedValue) -> None:
        """One observation of a histogram, this being its sum: `amount` onto it and one
        onto `bucket`, in one update (not two, as the library's `observe` makes)."""
        values = self.values
        with values.lock:
            if values.stale:
                values.renew()
            self._value += amount
            bucket._value += 1.0
            if not self._changed:
                self._changed = True
                values.changed(self)
            if not bucket._changed:
                bucket._changed = True
                values.changed(bucket)

    def set(self, value: float, timestamp: float | None = None) -> None:
        values = self.values
        with values.lock:
            if values.stale:
                values.renew()
            self._value = value
            self._timestamp = timestamp or 0.0
            if not self._changed:
                self._changed = True
                values.changed(self)

    def set_exemplar(self, exemplar: Any) -> None:
        return None  # as the library's multi-process values: no exemplars

    def get(self) -> float:
        values = self.values
        with values.lock:
            if values.stale:
                values.renew()
            return self._value

    def get_exemplar(self) -> None:
        return None
