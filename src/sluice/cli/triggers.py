"""`sluice trigger ...`: create, update, get, list, delete and fire (like `aio rt:trigger`),
with feeds such as `--feed /whisk.system/alarms/alarm` and `get --curl` for firing by hand.

Also what the rule and package commands share: plain entity names, `-a`, the `-p`/`-a` body,
and the per-item details a list table needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from sluice.cli.actions import Pair, invoke_params, key_values, param_options, parse_pairs
from sluice.cli.client import ClientError, EntityName, Json, SluiceClient
from sluice.cli.curl import trigger_curl, trigger_url
from sluice.cli.output import (
    CommandError,
    F,
    annotation,
    format_datetime,
    json_option,
    list_options,
    note,
    print_count,
    print_json,
    print_listing,
    show,
    with_client,
)

TRIGGERS = "triggers"
TRIGGER_COLUMNS = ("Datetime", "Status", "Version", "Trigger")


# Shared by the trigger, rule and package commands ------------------------------------------------
def plain_name(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """Click callback: `name` or `/ns/name` (triggers, rules and packages are not in a package)."""
    if value is None:
        return None
    try:
        name = EntityName.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc
    if name.package is not None:
        raise click.BadParameter(f"'{value}' is not `name` or `/namespace/name`", ctx, param)
    return name


def annotation_option(fn: F) -> F:
    """`-a KEY VALUE` (repeatable)."""
    return click.option(
        "-a",
        "--annotation",
        "annotations",
        nargs=2,
        multiple=True,
        metavar="KEY VALUE",
        help="An annotation; VALUE is JSON if it parses. Repeatable.",
    )(fn)


def entity_body(
    params: Iterable[Pair] = (),
    param_file: Path | None = None,
    annotations: Iterable[Pair] = (),
    extra_annotations: Sequence[Json] = (),
) -> Json:
    """`parameters` and `annotations`, each only when given (an update keeps the rest)."""
    body: Json = {}
    parameters = key_values(invoke_params(params, param_file))
    if parameters:
        body["parameters"] = parameters
    notes = key_values(parse_pairs(annotations)) + list(extra_annotations)
    if notes:
        body["annotations"] = notes
    return body


def own_prefix(client: SluiceClient) -> str:
    """What a list row drops from `namespace/name`: the caller's own namespace."""
    return f"{client.config.namespace}/"


def with_details(client: SluiceClient, collection: str, items: list[Json]) -> list[Json]:
    """Each list item's full record (what only a GET shows: a trigger's rules, a rule's
    status); the list item itself when the entity went away in between."""
    found = []
    for item in items:
        name = EntityName(str(item.get("namespace") or "") or None, str(item.get("name", "")))
        try:
            found.append(client.get_entity(collection, name))
        except ClientError as exc:
            if exc.status != 404:
                raise
            found.append(item)
    return found


def print_entities(
    client: SluiceClient,
    collection: str,
    headers: Sequence[str],
    row: Callable[[Json, str], list[str]],
    *,
    limit: int | None,
    skip: int | None,
    count: bool,
    as_json: bool,
    details: bool = False,
) -> None:
    """A list command: `--count`, `--json` (the list answer as is) or a table, whose rows
    come from each entity's full record when `details`."""
    if count:
        print_count(client.count_entities(collection), collection, as_json)
        return
    found = client.list_entities(collection, limit, skip)
    if details and not as_json:
        found = with_details(client, collection, found)
    own = own_prefix(client)
    print_listing(found, as_json, headers, lambda item: row(item, own))


def entity_path(item: Json, own: str) -> str:
    return f"{item.get('namespace', '')}/{item.get('name', '')}".removeprefix(own)


# Triggers ----------------------------------------------------------------------------------------
def trigger_status(record: Json) -> str:
    """`N active` from the trigger's rules, else `inactive` (aio's column)."""
    rules = record.get("rules") or {}
    active = sum(1 for rule in rules.values() if (rule or {}).get("status") == "active")
    return f"{active} active" if active else "inactive"


def trigger_row(record: Json, own: str) -> list[str]:
    return [
        format_datetime(record.get("updated")),
        trigger_status(record),
        str(record.get("version", "")),
        entity_path(record, own),
    ]


def trigger_body(
    params: Iterable[Pair], param_file: Path | None, annotations: Iterable[Pair], feed: str | None
) -> Json:
    """With a feed, `-p`/`-P` go to the feed action, not to the trigger."""
    if feed is None:
        return entity_body(params, param_file, annotations)
    return entity_body(annotations=annotations, extra_annotations=[{"key": "feed", "value": feed}])


def feed_name(feed: str) -> EntityName:
    """`/whisk.system/alarms/alarm`: the feed action to run."""
    try:
        return EntityName.parse(feed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--feed'") from exc


def run_feed(
    client: SluiceClient, feed: str, event: str, trigger: Json, params: Json | None = None
) -> Json:
    """Invoke the feed action, blocking, for one lifecycle event of `trigger` (a record);
    its result, or CommandError when it failed. No `authKey`: Sluice knows the caller."""
    body = {
        **(params or {}),
        "lifecycleEvent": event,
        "triggerName": f"/{trigger['namespace']}/{trigger['name']}",
    }
    invoked = client.invoke(feed_name(feed), body, blocking=True)
    if not invoked.finished:
        raise CommandError(f"the feed {feed} did not finish {event} in time")
    response = invoked.body.get("response") or {}
    result = response.get("result")
    if response.get("success") is not True:
        error = result.get("error") if isinstance(result, dict) else None
        raise CommandError(f"the feed {feed} failed {event}: {error or response.get('status')}")
    found: Json = result if isinstance(result, dict) else {}
    return found


def create_with_feed(
    client: SluiceClient, name: EntityName, body: Json, feed: str, params: Json
) -> Json:
    """PUT the trigger, then CREATE in the feed; a feed that fails takes the trigger away."""
    feed_name(feed)  # a bad feed name stops before anything is created
    stored = client.put_entity(TRIGGERS, name, body)
    try:
        run_feed(client, feed, "CREATE", stored, params)
    except (ClientError, CommandError):
        with contextlib.suppress(ClientError):
            client.delete_entity(TRIGGERS, name)
        raise
    return stored


@click.group("trigger")
def trigger() -> None:
    """Create, update, get, list, delete and fire triggers."""


def trigger_options(fn: F) -> F:
    fn = json_option("Print the stored trigger.")(fn)
    fn = annotation_option(fn)
    return param_options(fn)


@trigger.command("create")
@click.argument("name", callback=plain_name)
@trigger_options
@click.option(
    "--feed",
    metavar="FEED",
    help="Feed action, e.g. /whisk.system/alarms/alarm; -p/-P then go to the feed.",
)
@with_client
def create(
    client: SluiceClient,
    /,
    name: EntityName,
    params: tuple[Pair, ...],
    param_file: Path | None,
    annotations: tuple[Pair, ...],
    as_json: bool,
    feed: str | None,
) -> None:
    """Create trigger NAME (with --feed: and connect it to the feed)."""
    body = trigger_body(params, param_file, annotations, feed)
    if feed is None:
        stored = client.put_entity(TRIGGERS, name, body)
    else:
        stored = create_with_feed(client, name, body, feed, invoke_params(params, param_file))
    if as_json:
        print_json(stored)


@trigger.command("update")
@click.argument("name", callback=plain_name)
@trigger_options
@with_client
def update(
    client: SluiceClient,
    /,
    name: EntityName,
    params: tuple[Pair, ...],
    param_file: Path | None,
    annotations: tuple[Pair, ...],
    as_json: bool,
) -> None:
    """Update trigger NAME: what is given replaces, the rest is kept."""
    body = entity_body(params, param_file, annotations)
    stored = client.put_entity(TRIGGERS, name, body, overwrite=True)
    if as_json:
        print_json(stored)


@trigger.command("get")
@click.argument("name", callback=plain_name)
@click.option("--url", is_flag=True, help="Print the URL that fires it only.")
@click.option(
    "--curl", is_flag=True, help="Print that URL and curl lines firing it (with your key)."
)
@json_option("Print it as JSON (with --url: {url}; with --curl: {curl: [lines]}).")
@with_client
def get(client: SluiceClient, /, name: EntityName, url: bool, curl: bool, as_json: bool) -> None:
    """Print trigger NAME."""
    record = client.get_entity(TRIGGERS, name)
    if url:
        show({"url": trigger_url(client.config.apihost, record)}, as_json, lambda v: v["url"])
    elif curl:
        lines = trigger_curl(client.config.apihost, client.config.auth, record)
        show({"curl": lines}, as_json, lambda v: "\n".join(v["curl"]))
    else:
        show(record, as_json)


@trigger.command("list")
@list_options(TRIGGERS)
@with_client
def list_(client: SluiceClient, /, **page: Any) -> None:
    """List triggers with how many active rules each has."""
    print_entities(client, TRIGGERS, TRIGGER_COLUMNS, trigger_row, details=True, **page)


@trigger.command("delete")
@click.argument("name", callback=plain_name)
@json_option("Print the deleted trigger.")
@with_client
def delete(client: SluiceClient, /, name: EntityName, as_json: bool) -> None:
    """Delete trigger NAME (first disconnecting it from its feed, if it has one)."""
    record = client.get_entity(TRIGGERS, name)
    feed = annotation(record, "feed")
    if isinstance(feed, str):
        try:
            run_feed(client, feed, "DELETE", record)
        except (ClientError, CommandError, click.BadParameter) as exc:
            note(f"warning: {exc}; deleting the trigger anyway")
    deleted = client.delete_entity(TRIGGERS, name)
    if as_json:
        print_json(deleted)


@trigger.command("fire")
@click.argument("name", callback=plain_name)
@param_options
@with_client
def fire(
    client: SluiceClient, /, name: EntityName, params: tuple[Pair, ...], param_file: Path | None
) -> None:
    """Fire trigger NAME: its active rules run their actions with these parameters."""
    activation_id = client.fire_trigger(name, invoke_params(params, param_file))
    if activation_id is None:
        note(f"trigger {name.path} has no active rule: nothing ran")
    else:
        print_json({"activationId": activation_id})
