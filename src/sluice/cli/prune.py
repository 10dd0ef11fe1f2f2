"""`sluice activation prune`: forget the records of calls that ended before the retention
(SLUICE_ACTIVATION_RETENTION), at once, on the server's store (as the scheduler does every
minute). An admin command: it opens the data dir or PostgreSQL store itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sluice.config import Settings


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    from pydantic import TypeAdapter, ValidationError

    from sluice.config import duration_value

    try:
        return TypeAdapter(timedelta).validate_python(duration_value(value))
    except ValidationError:
        raise click.BadParameter(
            f"'{value}' is no duration: seconds (86400) or ISO 8601 (P1D, PT12H)"
        ) from None


@click.command("prune")
@click.option(
    "--older-than",
    callback=_duration,
    metavar="DURATION",
    help="Forget calls ended longer ago than this: seconds or ISO 8601 (P30D)"
    " [default: SLUICE_ACTIVATION_RETENTION, 7 days].",
)
@click.pass_context
def prune(ctx: click.Context, older_than: timedelta | None) -> None:
    """Forget the activation records (and call states) of calls ended before the retention."""
    settings: Settings = ctx.find_root().obj["server_settings"]()
    keep = older_than if older_than is not None else settings.activation_retention
    if keep.total_seconds() <= 0:
        raise click.UsageError("the retention is 0 (keep for ever): give --older-than")
    cutoff = datetime.now(UTC) - keep
    pruned = asyncio.run(_prune(settings, int(cutoff.timestamp() * 1000)))
    click.echo(f"forgot {pruned} calls ended before {cutoff.isoformat(timespec='seconds')}")


async def _prune(settings: Settings, ended_before: int) -> int:
    from sluice.catalogue import build_backends
    from sluice.worker.housekeeping import PRUNE_BATCH

    store, _queue = build_backends(settings)
    await store.open()
    try:
        total = 0
        while (pruned := await store.prune_calls(ended_before, PRUNE_BATCH)) > 0:
            total += pruned
        return total
    finally:
        await store.close()
