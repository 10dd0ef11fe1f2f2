"""`--json` on every read command, through one helper; tables fitted to the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tests.support.cli import sluice, sluice_json
from tests.support.server import SluiceServer

from sluice.cli.main import main
from sluice.cli.output import format_table

#: commands that only read: each must take --json
READ_VERBS = {"list", "get", "logs", "result", "status", "inspect", "top"}
#: groups whose every command reads (`fn list apps`, `fn inspect fn`)
READ_GROUPS = {"list", "inspect"}


def read_commands(group: click.Group, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        here = (*path, name)
        if isinstance(command, click.Group):
            found.update(read_commands(command, here))
        elif name in READ_VERBS or (path and path[-1] in READ_GROUPS):
            found[" ".join(here)] = command
    return found


def test_every_read_command_takes_json() -> None:
    commands = read_commands(main)
    # the walk reaches every family of commands, so a new read command cannot hide
    assert {
        "action get",
        "action list",
        "activation logs",
        "activation result",
        "context get",
        "fn calls get",
        "fn inspect trigger",
        "fn list apps",
        "fn logs get",
        "fn routes list",
        "function get",
        "namespace list",
        "package get",
        "rule status",
        "secret list",
        "top",
        "trigger get",
    } <= set(commands)
    without = [
        path
        for path, command in commands.items()
        if not any("--json" in getattr(p, "opts", ()) for p in command.params)
    ]
    assert without == []


def test_tables_fit_the_width_given() -> None:
    headers = ("NAME", "KIND", "UPDATED")
    rows = [("guest/a-rather-long-action-name-indeed", "nodejs:20", "2026-12-07 01:44:25")]
    whole = format_table(headers, rows)
    assert (
        whole.splitlines()[1]
        == "guest/a-rather-long-action-name-indeed  nodejs:20  2026-12-07 01:44:25"
    )
    narrow = format_table(headers, rows, 40).splitlines()
    assert max(len(line) for line in narrow) <= 40
    assert "…" in narrow[1]
    assert "  nodejs:20  " in narrow[1]  # the narrow column is kept whole, the wide ones cut
    # cells are text, not Rich markup
    assert format_table(("A",), [("[bold]x[/bold]",)]).splitlines()[1] == "[bold]x[/bold]"


def test_read_commands_answer_json_and_fit_columns(server: SluiceServer, tmp_path: Path) -> None:
    code = tmp_path / "logger.js"
    code.write_text("function main() { console.log('a line'); return {ok: true}; }")
    name = "json-everywhere-with-a-long-name-for-the-table"
    sluice(server, "action", "create", name, str(code))
    record = sluice_json(server, "action", "invoke", name, "-b")
    activation_id = record["activationId"]

    assert sluice_json(server, "action", "get", name, "--json")["name"] == name
    url = sluice_json(server, "action", "get", name, "--url", "--json")["url"]
    assert url == sluice(server, "action", "get", name, "--url").stdout.strip()
    assert sluice_json(server, "action", "get", name, "--code", "--json")["code"] == (
        code.read_text()
    )
    counted = sluice_json(server, "action", "list", "--count", "--json")
    assert counted["actions"] >= 1
    logs = sluice_json(server, "activation", "logs", activation_id, "--strip", "--json")
    assert logs == ["a line"]
    assert sluice_json(server, "activation", "result", activation_id, "--json")["result"] == {
        "ok": True
    }
    settings = sluice_json(server, "context", "get", "--json")
    assert settings["apihost"] == server.url
    assert sluice_json(server, "context", "get", "namespace", "--json") == {"namespace": "guest"}
    assert "guest" in {item["name"] for item in sluice_json(server, "namespace", "list", "--json")}

    # a pipe gets whole values; COLUMNS=60 gets a table of 60 columns at most
    whole = sluice(server, "action", "list").stdout
    assert name in whole
    narrow = sluice(server, "action", "list", env={**server.cli_env, "COLUMNS": "60"}).stdout
    assert max(len(line) for line in narrow.splitlines()) <= 60
    assert name not in narrow
    assert any("json-e" in line and "…" in line for line in narrow.splitlines()), narrow
    # --json is never cut to the terminal
    listed = json.loads(
        sluice(server, "action", "list", "--json", env={**server.cli_env, "COLUMNS": "60"}).stdout
    )
    assert name in {item["name"] for item in listed}
