"""`sluice rule ...`: create, update, get, list, delete, enable, disable and status
(like `aio rt:rule`). A rule runs ACTION each time TRIGGER fires, while it is active."""

from __future__ import annotations

from typing import Any

import click

from sluice.cli.client import EntityName, Json, SluiceClient
from sluice.cli.output import (
    entity_name,
    format_datetime,
    json_option,
    list_options,
    print_json,
    show,
    with_client,
)
from sluice.cli.triggers import entity_path, plain_name, print_entities

RULES = "rules"
RULE_COLUMNS = ("Datetime", "Status", "Version", "Rules")
ACTIVE, INACTIVE = "active", "inactive"


def qualified(name: EntityName, namespace: str) -> str:
    """`/ns/name` or `/ns/pkg/name`: the namespace the name says, else `namespace`."""
    return f"/{name.namespace or namespace}/{name.path}"


def rule_body(trigger: EntityName, action: EntityName, namespace: str) -> Json:
    """What a rule PUT carries: fully qualified names, as the aio CLI sends them."""
    return {"trigger": qualified(trigger, namespace), "action": qualified(action, namespace)}


def rule_row(record: Json, own: str) -> list[str]:
    return [
        format_datetime(record.get("updated")),
        str(record.get("status") or "--"),
        str(record.get("version", "")),
        entity_path(record, own),
    ]


@click.group("rule")
def rule() -> None:
    """Create, update, get, list, delete, enable and disable rules."""


def put_rule(
    client: SluiceClient,
    name: EntityName,
    trigger: EntityName,
    action: EntityName,
    overwrite: bool,
    as_json: bool,
) -> None:
    namespace = name.namespace or client.config.namespace
    stored = client.put_entity(RULES, name, rule_body(trigger, action, namespace), overwrite)
    if as_json:
        print_json(stored)


@rule.command("create")
@click.argument("name", callback=plain_name)
@click.argument("trigger_name", metavar="TRIGGER", callback=plain_name)
@click.argument("action_name", metavar="ACTION", callback=entity_name)
@json_option("Print the stored rule.")
@with_client
def create(
    client: SluiceClient,
    /,
    name: EntityName,
    trigger_name: EntityName,
    action_name: EntityName,
    as_json: bool,
) -> None:
    """Create rule NAME: when TRIGGER fires, run ACTION. It starts active."""
    put_rule(client, name, trigger_name, action_name, overwrite=False, as_json=as_json)


@rule.command("update")
@click.argument("name", callback=plain_name)
@click.argument("trigger_name", metavar="TRIGGER", callback=plain_name)
@click.argument("action_name", metavar="ACTION", callback=entity_name)
@json_option("Print the stored rule.")
@with_client
def update(
    client: SluiceClient,
    /,
    name: EntityName,
    trigger_name: EntityName,
    action_name: EntityName,
    as_json: bool,
) -> None:
    """Point rule NAME at TRIGGER and ACTION (its status is kept)."""
    put_rule(client, name, trigger_name, action_name, overwrite=True, as_json=as_json)


@rule.command("get")
@click.argument("name", callback=plain_name)
@json_option("Print it as JSON (as it is printed anyway).")
@with_client
def get(client: SluiceClient, /, name: EntityName, as_json: bool) -> None:
    """Print rule NAME."""
    show(client.get_entity(RULES, name), as_json)


@rule.command("status")
@click.argument("name", callback=plain_name)
@json_option("Print {status} as JSON.")
@with_client
def status(client: SluiceClient, /, name: EntityName, as_json: bool) -> None:
    """Print `active` or `inactive`."""
    found = str(client.get_entity(RULES, name).get("status"))
    show({"status": found}, as_json, lambda v: v["status"])


@rule.command("enable")
@click.argument("name", callback=plain_name)
@with_client
def enable(client: SluiceClient, /, name: EntityName) -> None:
    """Make rule NAME active: its trigger runs its action."""
    client.set_rule_status(name, ACTIVE)


@rule.command("disable")
@click.argument("name", callback=plain_name)
@with_client
def disable(client: SluiceClient, /, name: EntityName) -> None:
    """Make rule NAME inactive: firing its trigger no longer runs its action."""
    client.set_rule_status(name, INACTIVE)


@rule.command("list")
@list_options(RULES)
@with_client
def list_(client: SluiceClient, /, **page: Any) -> None:
    """List rules with their status."""
    print_entities(client, RULES, RULE_COLUMNS, rule_row, details=True, **page)


@rule.command("delete")
@click.argument("name", callback=plain_name)
@json_option("Print the deleted rule.")
@with_client
def delete(client: SluiceClient, /, name: EntityName, as_json: bool) -> None:
    """Delete rule NAME (its trigger stays)."""
    deleted = client.delete_entity(RULES, name)
    if as_json:
        print_json(deleted)
