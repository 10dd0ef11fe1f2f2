"""`sluice namespace ...`: admin commands that work on the data dir directly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from sluice.cli.output import json_option, show
from sluice.errors import SluiceError

if TYPE_CHECKING:
    from sluice.config import Settings
    from sluice.engine.namespaces import Namespaces

T = TypeVar("T")


def _with_namespaces(ctx: click.Context, fn: Callable[[Namespaces], Awaitable[T]]) -> T:
    from sluice.bootstrap import platform_secret
    from sluice.catalogue import build_backends
    from sluice.engine.namespaces import Namespaces

    settings: Settings = ctx.obj["server_settings"]()

    async def run() -> T:
        store, _queue = build_backends(settings)
        await store.open()
        try:
            return await fn(Namespaces(store, platform_secret(settings.data_dir)))
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except SluiceError as exc:
        raise click.ClickException(exc.message) from exc


@click.group("namespace")
def namespace() -> None:
    """Create, list, delete namespaces and rotate their keys (on the data dir)."""


@namespace.command("create")
@click.argument("name")
@click.pass_context
def create(ctx: click.Context, name: str) -> None:
    """Create NAME and print its key (shown only this once)."""
    key = _with_namespaces(ctx, lambda ns: ns.create(name))
    click.echo(str(key))


@namespace.command("list")
@json_option("Print [{name, uuid}] as JSON.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List namespaces."""
    found = [
        {"name": item.name, "uuid": item.uuid}
        for item in _with_namespaces(ctx, lambda ns: ns.all())
    ]
    if found or as_json:
        show(found, as_json, lambda items: "\n".join(f"{i['name']}\t{i['uuid']}" for i in items))


@namespace.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def delete(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete NAME with all its actions and calls."""
    if not yes:
        click.confirm(f"Delete namespace {name} and everything in it?", abort=True)
    if not _with_namespaces(ctx, lambda ns: ns.delete(name)):
        raise click.ClickException(f"namespace {name} does not exist")


@namespace.command("rotate-key")
@click.argument("name")
@click.pass_context
def rotate_key(ctx: click.Context, name: str) -> None:
    """Give NAME a new key and print it; the old key stops working at once."""
    click.echo(str(_with_namespaces(ctx, lambda ns: ns.rotate(name))))
