"""What the client commands share: printing (JSON, tables), error reporting, the client itself.

Errors go to stderr as `error: <message> (<status>)`, with wsk's exit codes: 2 for a usage
error (click's own), the HTTP status less 256 for an error answer (404: 148, 409: 153, 500:
244), 3 when the server did not answer, 1 for anything else.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

import click
import orjson
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sluice.cli.client import ClientError, EntityName, SluiceClient
from sluice.cli.clientconfig import ClientConfig, ConfigError, load_client_config

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

#: exit code of a failed command that is neither a usage error nor an error answer
ERROR_EXIT_CODE = 1
#: exit code when the server did not answer at all
NO_ANSWER_EXIT_CODE = 3


def exit_code_of(status: int | None) -> int:
    """wsk's exit code for an error answer: its HTTP status less 256 (no answer: 3)."""
    if status is None:
        return NO_ANSWER_EXIT_CODE
    return status - 256 if 400 <= status < 600 else ERROR_EXIT_CODE


# Printing ----------------------------------------------------------------------------------------
def format_json(value: Any) -> str:
    """Indented JSON, keys in the order the server sent them."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def print_json(value: Any) -> None:
    click.echo(format_json(value))


#: the width of a table printed to no terminal, COLUMNS unset: a pipe gets whole values
UNBOUNDED = 1_000_000


def terminal_width() -> int | None:
    """The width a table must fit: COLUMNS when set, else the terminal's when stdout is one;
    None (no limit) when stdout is a pipe or a file, so that scripts read whole values."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


#: spaces between two columns of a table
GAP = 2


def fit_widths(widths: Sequence[int], room: int) -> list[int]:
    """Column widths within `room`: the narrow columns keep theirs, the widest are cut to one
    level (the most that fits), so that a long name does not squeeze a short status."""
    if sum(widths) <= room:
        return list(widths)
    left, level = room, 1
    for done, width in enumerate(sorted(widths)):
        share = left // (len(widths) - done)
        if width > share:
            level = max(share, 1)
            break
        left -= width
    return [min(width, level) for width in widths]


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], width: int | None = None
) -> str:
    """Plain text columns, left aligned, two spaces apart, header first; within `width`
    the widest cells are cut short with `…` (Rich measures wide characters)."""
    cells = [[Text(cell) for cell in row] for row in rows]
    natural = [
        max([cell_len(header), *(row[i].cell_len for row in cells)])
        for i, header in enumerate(headers)
    ]
    room = (width or UNBOUNDED) - GAP * (len(headers) - 1)
    table = Table(box=None, padding=(0, GAP, 0, 0), pad_edge=False, header_style="")
    for header, fitted in zip(headers, fit_widths(natural, room), strict=True):
        table.add_column(header, width=fitted, overflow="ellipsis", no_wrap=True)
    for row in cells:
        table.add_row(*row)
    out = io.StringIO()
    console = Console(file=out, width=width or UNBOUNDED, color_system=None, highlight=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def fitted_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table that fits the terminal (see `terminal_width`)."""
    return format_table(headers, rows, terminal_width())


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    click.echo(fitted_table(headers, rows))


def show(value: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """What a read command prints: `value` as JSON with `--json` (or when it has no text
    form), else `text(value)`. Every read command answers through here, so that `--json`
    means the same everywhere: JSON alone on stdout, notes on stderr."""
    if as_json or text is None:
        print_json(value)
    else:
        click.echo(text(value))


def print_listing(
    found: list[dict[str, Any]],
    as_json: bool,
    headers: Sequence[str],
    row: Callable[[dict[str, Any]], Sequence[str]],
) -> None:
    """A list answer: raw JSON, or a table with one row per item."""
    show(found, as_json, lambda items: fitted_table(headers, map(row, items)))


def print_count(count: int, collection: str, as_json: bool = False) -> None:
    """`--count`: a sentence, or OpenWhisk's own `{"actions": 3}` with `--json`."""
    show(
        {collection: count}, as_json, lambda _: f"You have {count} {collection} in this namespace."
    )


def format_datetime(epoch_ms: Any) -> str:
    """Local time `YYYY-MM-DD HH:MM:SS`; `--` when there is no time."""
    if not isinstance(epoch_ms, int | float) or isinstance(epoch_ms, bool) or epoch_ms <= 0:
        return "--"
    return datetime.fromtimestamp(epoch_ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def annotation(record: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """The value of annotation `key` of an entity or activation record."""
    for item in record.get("annotations") or []:
        if isinstance(item, dict) and item.get("key") == key:
            return item.get("value")
    return default


def note(message: str) -> None:
    """A hint for the user, on stderr so that stdout stays machine-readable."""
    click.echo(message, err=True)


# Errors ------------------------------------------------------------------------------------------
class CommandError(click.ClickException):
    """A failed client command: `error: <message>` on stderr, and an exit code that tells a
    missing entity (148) from a refused request (144) or a server error (244)."""

    exit_code = ERROR_EXIT_CODE

    def __init__(self, message: str, exit_code: int = ERROR_EXIT_CODE) -> None:
        super().__init__(message)
        # click reads it from the instance; its stub declares it per class only
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the client's and the config's errors into a CommandError."""
    try:
        yield
    except ClientError as exc:
        raise CommandError(str(exc), exit_code_of(exc.status)) from exc
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc


# The client --------------------------------------------------------------------------------------
def client_from(obj: Any) -> SluiceClient:
    """A client for `ctx.obj`: a ClientConfig, or a dict of the raw `--apihost`, `--auth`,
    `--namespace` values (each possibly None), or nothing."""
    if isinstance(obj, ClientConfig):
        return SluiceClient(obj)
    options: Mapping[str, Any] = obj if isinstance(obj, Mapping) else {}
    config = load_client_config(
        options.get("apihost"), options.get("auth"), options.get("namespace")
    )
    return SluiceClient(config)


def quiet_request_logs() -> None:
    """httpx logs every request at INFO: keep that off a command's stderr unless debugging."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def with_client(fn: Callable[Concatenate[SluiceClient, P], R]) -> Callable[P, R]:
    """Run a command with a client built from the context, reporting its errors."""

    @functools.wraps(fn)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        quiet_request_logs()
        with reported_errors(), client_from(click.get_current_context().obj) as client:
            return fn(client, *args, **kwargs)

    return command


def json_option(help_text: str = "Print the answer as JSON.") -> Callable[[F], F]:
    """`--json` as `as_json`: every read command takes it (see `show`)."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def list_options(collection: str) -> Callable[[F], F]:
    """`--limit`, `--skip`, `--count`, `--json`: what every list command takes."""

    def decorate(fn: F) -> F:
        options = [
            click.option(
                "--limit", type=click.IntRange(min=0), help="At most this many (server max 200)."
            ),
            click.option("--skip", type=click.IntRange(min=0), help="Skip this many."),
            click.option("--count", is_flag=True, help=f"Print how many {collection} there are."),
            json_option("Print the answer as JSON."),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def entity_name(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """Click callback: `name`, `pkg/name`, `/ns/name` or `/ns/pkg/name` as an EntityName."""
    if value is None:
        return None
    try:
        return EntityName.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc
