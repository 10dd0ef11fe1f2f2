"""`sluice top`: a live view of the namespace's queue, running calls, rates and slowest
functions, redrawn from the server's stats route (dialects/native/stats.py) every interval."""

from __future__ import annotations

import time

import click

from sluice.cli.client import ClientError, SluiceClient
from sluice.cli.output import json_option, print_json, with_client


@click.command("top")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    help="Seconds between redraws.",
)
@click.option(
    "--window",
    type=click.IntRange(1, 3600),
    default=60,
    show_default=True,
    help="Seconds of ended calls the rates and the slowest functions cover.",
)
@click.option("--once", is_flag=True, help="Draw one screen and exit.")
@json_option("Print the stats once as JSON.")
@with_client
def top(client: SluiceClient, /, interval: float, window: int, once: bool, as_json: bool) -> None:
    """A live view of the namespace: queue, running calls, rates, slowest functions."""
    stats = client.stats(window)
    if as_json:
        print_json(stats)
        return
    from rich.console import Console
    from rich.live import Live

    from sluice.cli.top_view import render

    console = Console()
    apihost = client.config.apihost
    if once or not console.is_terminal:
        console.print(render(stats, apihost, live=False))
        return
    with Live(render(stats, apihost), console=console, screen=True, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                problem = None
                try:
                    stats = client.stats(window)
                except ClientError as exc:  # keep the last screen, say why it is stale
                    problem = f"not updated: {exc}"
                live.update(render(stats, apihost, problem), refresh=True)
        except KeyboardInterrupt:
            pass
