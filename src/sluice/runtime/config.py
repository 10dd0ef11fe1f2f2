"""How the process runtime is tuned."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class RuntimeConfig:
    #: an initialised process unused this long is stopped
    idle_seconds: float = 600.0
    #: started but not yet initialised interpreters kept ready per kind, for cold starts
    stem_cells: int = 1
    #: function processes of every family together, warm, busy, stem cells and those of one
    #: call, each from its start until it has exited (runtime/capacity.py)
    max_processes: int = 64
    #: processes being started at once at most, every warm family together (0: the
    #: machine's cores, at least 2)
    max_starting: int = 0
    #: directories on NODE_PATH, so functions can require("openwhisk") without bundling it
    node_path: tuple[str, ...] = ()
    #: directories on the Python functions' sys.path (they never see Sluice's site-packages)
    python_path: tuple[str, ...] = ()
    #: where each process gets its own temporary directory (its HOME and TMPDIR)
    work_dir: Path
    #: memory limit stem cells are started for: Node's heap size is fixed at launch, so only
    #: actions with this memory limit can take a Node.js stem cell
    stem_memory_mb: int = 256
    #: the node executable of Fn's node functions; None looks for `node` on PATH
    node_binary: str | None = None
    #: SLUICE_RUNTIMES: the interpreters of versioned kinds (runtime/interpreters.py)
    runtimes: str = ""
    #: how often a running call's memory is sampled
    memory_sample_seconds: float = 0.1
    #: how long to wait for a process's log sentinels once it has answered
    log_grace_seconds: float = 2.0
    #: largest total uncompressed size of a zip action
    max_unzipped_bytes: int = 1 << 30
    #: where builds keep dependency environments (see runtime/bundle.py); None: no builds
    builds_dir: Path | None = None
