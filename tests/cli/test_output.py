"""Printing: JSON, tables, rows of actions and activations, log stripping, error reporting."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

import click
import pytest
from click.testing import CliRunner

from sluice.cli.actions import action, action_row, action_url
from sluice.cli.activations import activation, activation_row, activation_status, strip_log_line
from sluice.cli.client import ClientError
from sluice.cli.output import format_datetime, format_json, format_table

START = 1795419421056


def local(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def test_json_is_indented_in_the_order_received() -> None:
    assert format_json({"b": 1, "a": [1, {"z": None}], "é": "ü"}) == (
        '{\n  "b": 1,\n  "a": [\n    1,\n    {\n      "z": null\n    }\n  ],\n  "é": "ü"\n}'
    )


def test_table_columns_are_aligned() -> None:
    table = format_table(("A", "Long header", "C"), [("xxxx", "y", ""), ("z", "w", "v")])
    assert table.splitlines() == ["A     Long header  C", "xxxx  y", "z     w            v"]
    assert format_table(("A", "B"), []) == "A  B"


def test_datetime() -> None:
    assert format_datetime(START) == local(START)
    assert format_datetime(None) == "--"
    assert format_datetime(0) == "--"


def _annotations(**values: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def summary(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "namespace": "guest",
        "name": "hello",
        "version": "0.0.2",
        "publish": False,
        "annotations": _annotations(
            path="guest/hello", kind="nodejs:20", waitTime=12, initTime=41, timeout=False
        ),
        "activationId": "094aea103b744e5195ab19909906178d",
        "start": START,
        "end": START + 175,
        "duration": 175,
        "statusCode": 0,
    }
    item.update(overrides)
    return item


def test_activation_row_of_a_cold_action() -> None:
    assert activation_row(summary(), "guest/") == [
        local(START),
        "success",
        "nodejs:20",
        "0.0.2",
        "094aea103b744e5195ab19909906178d",
        "cold",
        "175ms",
        "hello",
    ]


def test_activation_row_of_a_warm_packaged_action_in_another_namespace() -> None:
    item = summary(annotations=_annotations(path="other/pkg/a", kind="python:3"), statusCode=1)
    row = activation_row(item, "guest/")
    assert row[1:3] == ["app error", "python:3"]
    assert row[5] == "warm"
    assert row[7] == "other/pkg/a"


def test_activation_row_of_a_trigger() -> None:
    item = summary(name="tick", annotations=[], statusCode=None)
    del item["duration"], item["end"], item["statusCode"]
    row = activation_row(item, "guest/")
    assert row[2] == "trigger"
    assert row[5:] == ["--", "--", "tick"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"statusCode": 2, "annotations": _annotations(timeout=True)}, "timeout"),
        ({"statusCode": 2, "annotations": _annotations(timeout=False)}, "dev error"),
        ({"statusCode": 3}, "sys error"),
        ({"response": {"status": "application error"}}, "app error"),
        ({"response": {"status": "whisk internal error"}}, "sys error"),
        ({}, "--"),
    ],
)
def test_activation_status(fields: dict[str, Any], status: str) -> None:
    assert activation_status(fields) == status


def action_summary(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "namespace": "guest",
        "name": "my-worker",
        "version": "0.0.1",
        "publish": False,
        "annotations": _annotations(exec="nodejs:20"),
        "limits": {},
        "exec": {"binary": False},
        "updated": START,
    }
    item.update(overrides)
    return item


def test_action_rows() -> None:
    assert action_row(action_summary(), "guest/") == [
        local(START),
        "private",
        "nodejs:20",
        "0.0.1",
        "my-worker",
    ]
    web = action_summary(namespace="guest/pkg", annotations=_annotations(**{"web-export": True}))
    assert action_row(web, "guest/")[1:5:3] == ["web", "pkg/my-worker"]
    secured = _annotations(**{"web-export": True, "require-whisk-auth": "s"})
    assert action_row(action_summary(annotations=secured), "guest/")[1] == "web (secured)"


def test_action_urls() -> None:
    host = "http://127.0.0.1:3233"
    web = _annotations(**{"web-export": True})
    assert action_url(host, action_summary(annotations=web)) == (
        f"{host}/api/v1/web/guest/default/my-worker"
    )
    assert action_url(host, action_summary(namespace="guest/pkg", annotations=web)) == (
        f"{host}/api/v1/web/guest/pkg/my-worker"
    )
    assert action_url(host, action_summary(namespace="guest/pkg")) == (
        f"{host}/api/v1/namespaces/guest/actions/pkg/my-worker"
    )


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("2026-11-23T07:30:29.345825000Z stdout: hello called", "hello called"),
        ("2026-11-23T07:30:29.346270000Z stderr: a line on stderr", "a line on stderr"),
        ("2026-11-23T07:30:29Z  stdout:  two spaces", " two spaces"),
        ('{"statusCode":0,"success":true}', '{"statusCode":0,"success":true}'),
    ],
)
def test_strip_log_line(line: str, text: str) -> None:
    assert strip_log_line(line) == text


def test_client_error_text() -> None:
    assert str(ClientError(404, "The requested resource does not exist.")) == (
        "The requested resource does not exist. (404 Not Found)"
    )
    assert str(ClientError(599, "odd")) == "odd (599)"
    assert str(ClientError(None, "cannot reach")) == "cannot reach"


# Error reporting through click -------------------------------------------------------------------
@click.group()
@click.option("--apihost")
@click.option("--auth")
@click.option("--namespace")
@click.pass_context
def cli(ctx: click.Context, apihost: str | None, auth: str | None, namespace: str | None) -> None:
    ctx.obj = {"apihost": apihost, "auth": auth, "namespace": namespace}


cli.add_command(action)
cli.add_command(activation)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    result = CliRunner().invoke(cli, ["--apihost", url, "--auth", "u:k", "action", "list"])
    assert result.exit_code == 3
    assert result.stderr == f"error: cannot reach Sluice at {url}: is `sluice serve` running?\n"
    assert result.stdout == ""


def test_missing_key(tmp_path: Any) -> None:
    env = {
        "SLUICE_CLIENT_CONFIG": str(tmp_path / "none"),
        "SLUICE_AUTH": "",
        "AIO_RUNTIME_AUTH": "",
    }
    result = CliRunner(env=env).invoke(cli, ["activation", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no API key")
    assert "sluice serve" in result.stderr


def test_bad_name_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["--auth", "u:k", "action", "get", "/only-ns"])
    assert result.exit_code == 2
    assert "Invalid value for 'NAME'" in result.stderr


def test_get_needs_an_id_or_last() -> None:
    result = CliRunner().invoke(cli, ["--auth", "u:k", "activation", "result"])
    assert result.exit_code == 2
    assert "--last" in result.stderr
