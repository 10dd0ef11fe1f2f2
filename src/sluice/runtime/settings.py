"""What every runtime family (blackbox, process and http functions, Fn's formats) is
given: where and how its processes start, their limits, and the one process cap; one typed
object rather than a parameter list per family."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sluice.runtime.capacity import Capacity
from sluice.runtime.fn_command import Interpreters
from sluice.runtime.memory import MemoryWatch
from sluice.sandbox.base import Sandbox


@dataclass(frozen=True, kw_only=True)
class FamilySettings:
    sandbox: Sandbox
    #: where each process gets its own directory
    work_dir: Path
    memory: MemoryWatch
    #: the interpreters Fn's commands may name
    tools: Interpreters
    #: where dependency environments live (runtime/bundle.py); None: no builds
    builds_dir: Path | None
    #: a warm process idle this long stops, unless its route says otherwise
    idle_seconds: float
    #: the process slots shared with the other warm families
    capacity: Capacity
    #: largest total uncompressed size of a function's zip
    max_unzipped: int
