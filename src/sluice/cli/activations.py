"""`sluice activation ...`: list, get, result and logs (like `aio rt:activation`), plus the live
state of calls that have not finished yet (Sluice's `/sluice/v1/.../calls/{id}` route)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from sluice.cli.client import (
    MAX_CALL_WAIT_SECONDS,
    ClientError,
    EntityName,
    Json,
    SluiceClient,
)
from sluice.cli.output import (
    F,
    annotation,
    entity_name,
    format_datetime,
    json_option,
    list_options,
    note,
    print_count,
    print_json,
    print_table,
    show,
    with_client,
)
from sluice.cli.progress import working
from sluice.records import TERMINAL_STATES

ACTIVATION_COLUMNS = (
    "Datetime",
    "Status",
    "Kind",
    "Version",
    "Activation ID",
    "Start",
    "Duration",
    "Entity",
)
STATUS_NAMES = {0: "success", 1: "app error", 2: "dev error", 3: "sys error"}
RESPONSE_STATUS_NAMES = {
    "success": "success",
    "application error": "app error",
    "action developer error": "dev error",
    "whisk internal error": "sys error",
}
#: aio's `--strip`: an ISO timestamp, `Z`, then `stdout:` or `stderr:` and one space
LOG_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\s*std(?:out|err): ?")


# Formatting --------------------------------------------------------------------------------------
def activation_status(item: Json) -> str:
    code = item.get("statusCode")
    if code is None:  # full records carry the status in `response`
        status = str((item.get("response") or {}).get("status") or "--")
        return RESPONSE_STATUS_NAMES.get(status, status)
    if code == 2 and annotation(item, "timeout") is True:
        return "timeout"
    return STATUS_NAMES.get(code, str(code))


def activation_row(item: Json, own_prefix: str) -> list[str]:
    """One row of `activation list`; trigger activations have no duration, kind or start."""
    is_trigger = "duration" not in item
    path = annotation(item, "path") or f"{item.get('namespace', '')}/{item.get('name', '')}"
    return [
        format_datetime(item.get("start")),
        activation_status(item),
        "trigger" if is_trigger else str(annotation(item, "kind") or "--"),
        str(item.get("version", "")),
        str(item.get("activationId", "")),
        "--" if is_trigger else ("cold" if annotation(item, "initTime") is not None else "warm"),
        "--" if is_trigger else f"{item['duration']}ms",
        str(path).removeprefix(own_prefix),
    ]


def live_row(call: Json, own_prefix: str) -> list[str]:
    """A call not finished yet, in `activation list`: when it was accepted and its state."""
    return [
        format_datetime(call.get("started") or call.get("created")),
        str(call["state"]),
        "--",
        "--",
        str(call["activationId"]),
        "--",
        "--",
        str(call["action"]).removeprefix(own_prefix),
    ]


def strip_log_line(line: str) -> str:
    """The text after `<timestamp> stdout: ` / `stderr: `; other lines unchanged."""
    return LOG_PREFIX.sub("", line, count=1)


# Ids, unfinished calls ---------------------------------------------------------------------------
def resolve_id(client: SluiceClient, activation_id: str | None, last: bool) -> str:
    """The given id, or with --last the newest activation's."""
    if activation_id and last:
        raise click.UsageError("give an ID or --last, not both")
    if activation_id:
        return activation_id
    if not last:
        raise click.UsageError("give an activation ID, or --last for the newest")
    newest = client.list_activations(limit=1, skip=0)
    if not newest:
        raise click.UsageError("there are no activations yet")
    return str(newest[0]["activationId"])


@contextmanager
def explained_unfinished(client: SluiceClient, activation_id: str) -> Iterator[None]:
    """A 404 for a call that is only queued or running says so, instead of "does not exist"."""
    try:
        yield
    except ClientError as exc:
        if exc.status != 404:
            raise
        state = _call_state_or_none(client, activation_id)
        if state is None or state["state"] in TERMINAL_STATES:
            raise
        raise ClientError(
            404,
            f"activation {activation_id} has not finished (state: {state['state']}); "
            f"wait for it with `sluice activation get {activation_id} --wait`",
        ) from exc


def _call_state_or_none(client: SluiceClient, call_id: str) -> Json | None:
    try:
        return client.get_call(call_id)
    except ClientError as exc:
        if exc.status == 404:
            return None
        raise


def record_or_state(client: SluiceClient, activation_id: str) -> Json:
    """The activation record; for a call without one yet, its live state."""
    try:
        return client.get_activation(activation_id)
    except ClientError as exc:
        if exc.status != 404:
            raise
        state = _call_state_or_none(client, activation_id)
        if state is None:
            raise
        return state


def is_live_state(found: Json) -> bool:
    """A call's live state (`state`, `created`, ...) rather than an activation record."""
    return "state" in found and "response" not in found


def wait_for_record(client: SluiceClient, activation_id: str, seconds: float) -> Json:
    """Long-poll the call until it is terminal, then its record; the live state on time-out."""
    deadline = time.monotonic() + seconds
    found = record_or_state(client, activation_id)
    while is_live_state(found) and found["state"] not in TERMINAL_STATES:
        left = deadline - time.monotonic()
        if left <= 0:
            note(f"still {found['state']} after {seconds:g} s")
            return found
        found = client.get_call(activation_id, wait=min(left, MAX_CALL_WAIT_SECONDS))
    if is_live_state(found):  # terminal: its record exists now, unless it never ran (cancelled)
        return record_or_state(client, str(found["activationId"]))
    return found


# Commands ----------------------------------------------------------------------------------------
@click.group("activation")
def activation() -> None:
    """List activations; get their records, results and logs."""


def id_argument(fn: F) -> F:
    """`[ID]` with `--last`/`-l`."""
    fn = click.option("-l", "--last", is_flag=True, help="Use the newest activation.")(fn)
    return click.argument("activation_id", metavar="[ID]", required=False)(fn)


@activation.command("list")
@click.argument("name", required=False, callback=entity_name)
@list_options("activations")
@click.option("--since", type=click.IntRange(min=0), help="Started at or after (epoch ms).")
@click.option("--upto", type=click.IntRange(min=0), help="Started at or before (epoch ms).")
@click.option("-f", "--full", is_flag=True, help="Full records (implies --json).")
@with_client
def list_(
    client: SluiceClient,
    /,
    name: EntityName | None,
    limit: int | None,
    skip: int | None,
    count: bool,
    as_json: bool,
    since: int | None,
    upto: int | None,
    full: bool,
) -> None:
    """List activations, newest first, below the calls not finished yet (queued, running:
    in the table only, on its first page); NAME filters by action."""
    if count:
        print_count(client.count_activations(name, since, upto), "activations", as_json)
        return
    own = f"{client.config.namespace}/"
    found = client.list_activations(name, limit, skip, since, upto, docs=full)
    if as_json or full:
        print_json(found)
        return
    live = [] if skip or since or upto else client.list_live_calls(limit)
    if name is not None:
        live = [call for call in live if str(call["action"]).endswith(f"/{name.path}")]
    rows = [live_row(call, own) for call in live]
    print_table(ACTIVATION_COLUMNS, rows + [activation_row(item, own) for item in found])


@activation.command("get")
@id_argument
@click.option(
    "-w",
    "--wait",
    "wait_given",
    is_flag=False,
    flag_value="inf",
    metavar="[SECONDS]",
    help="Wait until the call has finished (at most SECONDS), then print its record.",
)
@json_option("Print it as JSON (as it is printed anyway).")
@with_client
def get(
    client: SluiceClient,
    /,
    activation_id: str | None,
    last: bool,
    wait_given: str | None,
    as_json: bool,
) -> None:
    """Print activation ID; a call not finished yet shows its live state."""
    activation_id, wait = _wait_and_id(wait_given, activation_id)
    resolved = resolve_id(client, activation_id, last)
    if wait is None:
        show(record_or_state(client, resolved), as_json)
        return
    with working(f"waiting for {resolved}", limit=wait):
        found = wait_for_record(client, resolved, wait)
    show(found, as_json)


_SHORTEST_ID = 26


def _wait_and_id(wait: str | None, activation_id: str | None) -> tuple[str | None, float | None]:
    """`--wait` takes an optional number of seconds, so in `get --wait ID` it took the ID:
    a value that is no number is the ID, and the wait has no limit."""
    if wait is None:
        return activation_id, None
    try:
        # every spelling of a call id is 26 characters or more (and may be all digits)
        seconds = float(wait) if len(wait) < _SHORTEST_ID else math.nan
    except ValueError:
        seconds = math.nan
    if seconds != seconds and activation_id is None:  # not a number: the ID
        return wait, math.inf
    if not seconds >= 0:
        raise click.BadParameter(f"{wait!r} is not a number of seconds", param_hint="--wait")
    return activation_id, seconds


@activation.command("result")
@id_argument
@json_option("Print it as JSON (as it is printed anyway).")
@with_client
def result(client: SluiceClient, /, activation_id: str | None, last: bool, as_json: bool) -> None:
    """Print the response of activation ID: result, size, success, status."""
    resolved = resolve_id(client, activation_id, last)
    with explained_unfinished(client, resolved):
        show(client.activation_result(resolved), as_json)


@activation.command("logs")
@id_argument
@click.option("-r", "--strip", is_flag=True, help="Only the text: no timestamps, no stream.")
@json_option("Print the lines as a JSON list.")
@with_client
def logs(
    client: SluiceClient, /, activation_id: str | None, last: bool, strip: bool, as_json: bool
) -> None:
    """Print the log lines of activation ID."""
    resolved = resolve_id(client, activation_id, last)
    with explained_unfinished(client, resolved):
        lines = client.activation_logs(resolved)
    shown = [strip_log_line(line) if strip else line for line in lines]
    if shown or as_json:
        show(shown, as_json, "\n".join)
