"""`sluice secret`: the namespace's secrets through /system/secrets, as `faas-cli secret`
has them (a value from --from-literal, --from-file or stdin, trimmed unless --trim=false;
--replace updates one that exists). Values are sent, never printed."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import click

from sluice.cli.client import SluiceClient
from sluice.cli.output import CommandError, json_option, note, print_listing, with_client

ROUTE = "/system/secrets"


def _body(name: str, literal: str | None, path: Path | None, trim: bool) -> dict[str, Any]:
    if literal is not None and path is not None:
        raise CommandError("give the value with one of --from-literal, --from-file or stdin")
    if path is not None:
        # a file goes as raw bytes, as faas-cli sends it
        data = path.read_bytes()
        return {"name": name, "rawValue": base64.b64encode(data).decode()}
    if literal is None:
        if sys.stdin.isatty():
            note("Reading from STDIN - hit (Control + D) to stop.")
        literal = sys.stdin.read()
    value = literal.strip() if trim else literal
    if not value:
        raise CommandError(
            "must provide a non empty secret via --from-literal, --from-file or STDIN"
        )
    return {"name": name, "value": value}


def _value_options(command: Any) -> Any:
    command = click.option("--from-literal", "literal", help="The value itself.")(command)
    command = click.option(
        "--from-file",
        "path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A file holding the value (sent as is).",
    )(command)
    return click.option(
        "--trim/--no-trim", default=True, help="Trim whitespace around a literal or stdin value."
    )(command)


@click.group("secret")
def secret() -> None:
    """Create, list, update and remove the namespace's secrets (read by functions at
    /var/openfaas/secrets/NAME)."""


@secret.command("create")
@click.argument("name")
@_value_options
@click.option("--replace", is_flag=True, help="Update the secret if it exists.")
@with_client
def create(
    client: SluiceClient,
    /,
    name: str,
    literal: str | None,
    path: Path | None,
    trim: bool,
    replace: bool,
) -> None:
    """Create secret NAME."""
    body = _body(name, literal, path, trim)
    made = client.request("POST", ROUTE, body=body, accept=(409,))
    if made.status_code != 409:
        click.echo(f"Created: {name}")
        return
    if not replace:
        raise CommandError(f'secret with the name "{name}" already exists')
    client.request("PUT", ROUTE, body=body)
    click.echo(f"Updated: {name}")


@secret.command("update")
@click.argument("name")
@_value_options
@with_client
def update(
    client: SluiceClient, /, name: str, literal: str | None, path: Path | None, trim: bool
) -> None:
    """Give secret NAME a new value (its functions' next processes read it)."""
    client.request("PUT", ROUTE, body=_body(name, literal, path, trim))
    click.echo(f"Updated: {name}")


@secret.command("list")
@json_option("Print the list as JSON.")
@with_client
def list_(client: SluiceClient, /, as_json: bool) -> None:
    """List the secrets' names."""
    found = client.json("GET", ROUTE)
    if not found and not as_json:
        click.echo("No secrets found.")
        return
    print_listing(found, as_json, ("NAME",), lambda item: [item["name"]])


@secret.command("remove")
@click.argument("name")
@with_client
def remove(client: SluiceClient, /, name: str) -> None:
    """Remove secret NAME."""
    client.request("DELETE", ROUTE, body={"name": name})
    click.echo(f"Removed: {name}")
