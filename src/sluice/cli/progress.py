"""A spinner (or, against a time limit, a bar) with the time spent, on stderr while a long
request goes on: a build at deploy, a blocking invoke, `--wait`. Only when stderr is a
terminal: down a pipe, into a file or a CI log nothing is written, so that scripts and
`--json` read exactly what they did before; on a terminal it is erased once done."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress_bar import ProgressBar


class TimeBar(BarColumn):
    """The time spent against the task's total (seconds): the task needs no updates, as the
    request it stands for blocks the thread that would make them."""

    def render(self, task: Task) -> ProgressBar:
        bar = super().render(task)
        bar.completed = min(task.elapsed or 0.0, task.total or 0.0)
        return bar


@contextmanager
def working(what: str, limit: float | None = None) -> Iterator[None]:
    """Show `what` with a spinner and the time spent while the block runs; with a finite
    `limit` (seconds), a bar filling towards it."""
    console = Console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        yield
        return
    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
    bounded = limit is not None and math.isfinite(limit) and limit > 0
    if bounded:
        columns.append(TimeBar())
    columns.append(TimeElapsedColumn())
    # what the block prints to stdout stays on stdout (Rich would move it to its console)
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as progress:
        progress.add_task(what, total=limit if bounded else None)
        yield
