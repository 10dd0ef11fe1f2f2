"""What `sluice top` draws of one answer of the stats route (dialects/native/stats.py): a
summary line of the queue and the rates, the running calls, the slowest functions. Rich is
imported here only, when `top` runs: the other commands start without it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

#: statuses of ended calls in the order the summary shows them (others follow)
STATUSES = ("success", "application_error", "developer_error", "timeout", "platform_error")


def duration(ms: Any) -> str:
    """`850 ms`, `12.4 s`, `3m05s`, `2h10m`; `--` for nothing."""
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        return "--"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, expand=True)
    for name in columns:
        numeric = name in ("CALLS", "ERRORS", "MEAN", "MAX", "ELAPSED", "TRY")
        table.add_column(name, justify="right" if numeric else "left", overflow="ellipsis")
    return table


def _summary(stats: dict[str, Any]) -> Table:
    window = stats.get("windowSeconds", 60)
    table = Table(box=box.SIMPLE_HEAD)
    by_status: dict[str, int] = dict(stats.get("byStatus") or {})
    shown = [s for s in STATUSES if s in by_status] + sorted(set(by_status) - set(STATUSES))
    headers = ["QUEUED", "OLDEST WAIT", "RUNNING", f"ENDED ({window}s)", "ENDED/S"]
    for name in headers + [s.upper() for s in shown]:
        table.add_column(name, justify="right", overflow="ellipsis")
    oldest = stats.get("oldestQueuedSeconds")
    table.add_row(
        str(stats.get("queued", 0)),
        duration(oldest * 1000) if isinstance(oldest, int | float) else "--",
        str(stats.get("running", 0)),
        str(stats.get("ended", 0)),
        f"{stats.get('endedPerSecond', 0):.2f}",
        *(str(by_status[s]) for s in shown),
    )
    return table


def _running(stats: dict[str, Any]) -> Table:
    table = _table(f"Running ({stats.get('running', 0)})", "ACTION", "ID", "ELAPSED", "TRY")
    for call in stats.get("runningCalls") or []:
        table.add_row(
            str(call.get("action", "")),
            str(call.get("activationId", "")),
            duration(call.get("elapsedMs")),
            str(call.get("attempts", "")),
        )
    return table


def _slowest(stats: dict[str, Any]) -> Table:
    window = stats.get("windowSeconds", 60)
    table = _table(
        f"Slowest functions (ended, last {window}s)", "ACTION", "CALLS", "ERRORS", "MEAN", "MAX"
    )
    for item in stats.get("slowest") or []:
        table.add_row(
            str(item.get("action", "")),
            str(item.get("calls", 0)),
            str(item.get("errors", 0)),
            duration(item.get("meanMs")),
            duration(item.get("maxMs")),
        )
    return table


def render(
    stats: dict[str, Any], apihost: str, problem: str | None = None, live: bool = True
) -> RenderableType:
    """One screen of `sluice top` for `stats` (the stats route's answer)."""
    at = datetime.fromtimestamp(stats.get("now", 0) / 1000).astimezone().strftime("%H:%M:%S")
    header = Text.assemble(
        ("sluice top", "bold"),
        f"  {stats.get('namespace', '?')} at {apihost}  {at}",
        "  (Ctrl-C quits)" if live else "",
    )
    parts: list[RenderableType] = [header]
    if problem:
        parts.append(Text(problem, style="bold red"))
    parts += [_summary(stats), _running(stats), _slowest(stats)]
    return Group(*parts)
