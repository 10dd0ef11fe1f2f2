"""`sluice package ...`: create, update, bind, get, list and delete (like `aio rt:package`).

A package groups actions (`pkg/action`) under shared parameters; `--shared yes` lets other
namespaces read and run it; a binding is a package that points at another one, with its own
parameters on top.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sluice.cli.actions import Pair, param_options
from sluice.cli.client import EntityName, Json, SluiceClient
from sluice.cli.clientconfig import CALLER_NAMESPACE
from sluice.cli.output import (
    F,
    format_datetime,
    json_option,
    list_options,
    print_json,
    show,
    with_client,
)
from sluice.cli.triggers import (
    annotation_option,
    entity_body,
    entity_path,
    plain_name,
    print_entities,
)

PACKAGES = "packages"
PACKAGE_COLUMNS = ("Datetime", "Access", "Kind", "Version", "Packages")
SHARED_CHOICES = ("yes", "no", "true", "false")


def shared_flag(shared: str | None) -> bool | None:
    """`--shared yes|no` (or true|false) as `publish`; None when not given."""
    if shared is None:
        return None
    return shared.lower() in ("yes", "true")


def package_body(
    params: tuple[Pair, ...],
    param_file: Path | None,
    annotations: tuple[Pair, ...],
    shared: str | None,
) -> Json:
    body = entity_body(params, param_file, annotations)
    publish = shared_flag(shared)
    if publish is not None:
        body["publish"] = publish
    return body


def binding_body(
    target: EntityName,
    namespace: str,
    params: tuple[Pair, ...] = (),
    param_file: Path | None = None,
    annotations: tuple[Pair, ...] = (),
) -> Json:
    """A binding to package `target` (in `namespace` when its name does not say)."""
    body = entity_body(params, param_file, annotations)
    body["binding"] = {"namespace": target.namespace or namespace, "name": target.path}
    return body


def real_namespace(client: SluiceClient) -> str:
    """The configured namespace; for `_`, the key's own (a binding must name it)."""
    if client.config.namespace != CALLER_NAMESPACE:
        return client.config.namespace
    return client.namespaces()[0]


def package_row(record: Json, own: str) -> list[str]:
    return [
        format_datetime(record.get("updated")),
        "shared" if record.get("publish") is True else "private",
        "binding" if record.get("binding") else "package",
        str(record.get("version", "")),
        entity_path(record, own),
    ]


@click.group("package")
def package() -> None:
    """Create, update, bind, get, list and delete packages."""


def package_options(fn: F) -> F:
    fn = json_option("Print the stored package.")(fn)
    fn = click.option(
        "--shared",
        "--publish",
        "shared",
        type=click.Choice(SHARED_CHOICES, case_sensitive=False),
        help="yes: other namespaces may read and run it; no: private (the default).",
    )(fn)
    fn = annotation_option(fn)
    return param_options(fn)


def put_package(
    client: SluiceClient, name: EntityName, overwrite: bool, as_json: bool, **options: Any
) -> None:
    stored = client.put_entity(PACKAGES, name, package_body(**options), overwrite)
    if as_json:
        print_json(stored)


@package.command("create")
@click.argument("name", callback=plain_name)
@package_options
@with_client
def create(client: SluiceClient, /, name: EntityName, as_json: bool, **options: Any) -> None:
    """Create package NAME; its parameters reach every action in it."""
    put_package(client, name, overwrite=False, as_json=as_json, **options)


@package.command("update")
@click.argument("name", callback=plain_name)
@package_options
@with_client
def update(client: SluiceClient, /, name: EntityName, as_json: bool, **options: Any) -> None:
    """Update package NAME: what is given replaces, the rest is kept."""
    put_package(client, name, overwrite=True, as_json=as_json, **options)


@package.command("bind")
@click.argument("target", metavar="PACKAGE", callback=plain_name)
@click.argument("name", metavar="BINDING_NAME", callback=plain_name)
@param_options
@annotation_option
@json_option("Print the stored binding.")
@with_client
def bind(
    client: SluiceClient,
    /,
    target: EntityName,
    name: EntityName,
    params: tuple[Pair, ...],
    param_file: Path | None,
    annotations: tuple[Pair, ...],
    as_json: bool,
) -> None:
    """Bind BINDING_NAME to PACKAGE: its parameters overlay the package's.

    PACKAGE may be another namespace's shared one, e.g. /whisk.system/alarms."""
    namespace = target.namespace or real_namespace(client)
    body = binding_body(target, namespace, params, param_file, annotations)
    stored = client.put_entity(PACKAGES, name, body)
    if as_json:
        print_json(stored)


@package.command("get")
@click.argument("name", callback=plain_name)
@json_option("Print it as JSON (as it is printed anyway).")
@with_client
def get(client: SluiceClient, /, name: EntityName, as_json: bool) -> None:
    """Print package NAME with its actions (`/ns/name` for another namespace's shared one)."""
    show(client.get_entity(PACKAGES, name), as_json)


@package.command("list")
@list_options(PACKAGES)
@with_client
def list_(client: SluiceClient, /, **page: Any) -> None:
    """List packages and bindings."""
    print_entities(client, PACKAGES, PACKAGE_COLUMNS, package_row, **page)


@package.command("delete")
@click.argument("name", callback=plain_name)
@click.option("--force", is_flag=True, help="Also delete the actions in it.")
@json_option("Print the deleted package.")
@with_client
def delete(client: SluiceClient, /, name: EntityName, force: bool, as_json: bool) -> None:
    """Delete package NAME; one that still holds actions needs --force."""
    deleted = client.delete_entity(PACKAGES, name, {"force": "true"} if force else None)
    if as_json:
        print_json(deleted)
