"""Entity names, `-p` values, parameter files, annotations and the action PUT body."""

from __future__ import annotations

import base64
from pathlib import Path

import click
import pytest

from sluice.cli.actions import (
    ActionOptions,
    action_body,
    invoke_params,
    key_values,
    parse_pairs,
    parse_value,
    web_annotations,
)
from sluice.cli.client import EntityName


@pytest.mark.parametrize(
    ("text", "namespace", "path"),
    [
        ("hello", None, "hello"),
        ("pkg/hello", None, "pkg/hello"),
        ("/guest/hello", "guest", "hello"),
        ("/guest/pkg/hello", "guest", "pkg/hello"),
        ("guest/pkg/hello", "guest", "pkg/hello"),
    ],
)
def test_entity_names(text: str, namespace: str | None, path: str) -> None:
    name = EntityName.parse(text)
    assert (name.namespace, name.path) == (namespace, path)
    assert name.leaf == "hello"


def test_entity_name_package() -> None:
    assert EntityName.parse("/ns/pkg/a").package == "pkg"
    assert EntityName.parse("a").package is None


@pytest.mark.parametrize("text", ["", "/", "/guest", "a//b", "/guest/", "a/b/c/d", "//a/b"])
def test_bad_entity_names(text: str) -> None:
    with pytest.raises(ValueError, match="'"):
        EntityName.parse(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Ada", "Ada"),
        ("42", 42),
        ("4.5", 4.5),
        ("true", True),
        ("null", None),
        ('"quoted"', "quoted"),
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("[1", "[1"),
        ("", ""),
    ],
)
def test_parse_value(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_later_pairs_win() -> None:
    assert parse_pairs([("a", "1"), ("b", "x"), ("a", "2")]) == {"a": 2, "b": "x"}


def test_param_file_under_dash_p(tmp_path: Path) -> None:
    file = tmp_path / "p.json"
    file.write_text('{"a": 1, "b": {"c": true}}')
    assert invoke_params([("a", "over")], file) == {"a": "over", "b": {"c": True}}
    assert invoke_params([], None) == {}


@pytest.mark.parametrize("content", ["[1, 2]", "not json"])
def test_param_file_must_be_an_object(tmp_path: Path, content: str) -> None:
    file = tmp_path / "p.json"
    file.write_text(content)
    with pytest.raises(click.BadParameter):
        invoke_params([], file)


def test_key_values() -> None:
    assert key_values({"a": 1}) == [{"key": "a", "value": 1}]
    assert key_values({"S": "x"}, init=True) == [{"key": "S", "value": "x", "init": True}]


@pytest.mark.parametrize(
    ("web", "secure", "expected"),
    [
        (None, None, []),
        ("true", None, [("web-export", True), ("final", True)]),
        ("yes", None, [("web-export", True), ("final", True)]),
        ("raw", None, [("web-export", True), ("raw-http", True), ("final", True)]),
        ("false", None, [("web-export", False)]),
        ("no", None, [("web-export", False)]),
        (
            "true",
            "s3cret",
            [("web-export", True), ("final", True), ("require-whisk-auth", "s3cret")],
        ),
        (None, "true", [("require-whisk-auth", True)]),
        (None, "false", [("require-whisk-auth", False)]),
    ],
)
def test_web_annotations(
    web: str | None, secure: str | None, expected: list[tuple[str, object]]
) -> None:
    assert web_annotations(web, secure) == [{"key": k, "value": v} for k, v in expected]


def test_create_body_from_a_js_file(tmp_path: Path) -> None:
    source = tmp_path / "worker.js"
    source.write_text("function main() { return {}; }")
    options = ActionOptions(
        timeout=120000,
        memory=512,
        params=(("name", "Ada"), ("n", "3")),
        env=(("SECRET", "x"),),
        annotations=(("description", "a worker"),),
        web="true",
    )
    assert action_body(EntityName.parse("my-worker"), source, options) == {
        "name": "my-worker",
        "exec": {"kind": "nodejs:default", "code": "function main() { return {}; }"},
        "limits": {"timeout": 120000, "memory": 512},
        "parameters": [
            {"key": "name", "value": "Ada"},
            {"key": "n", "value": 3},
            {"key": "SECRET", "value": "x", "init": True},
        ],
        "annotations": [
            {"key": "description", "value": "a worker"},
            {"key": "web-export", "value": True},
            {"key": "final", "value": True},
        ],
    }


def test_python_kind_main_and_explicit_kind(tmp_path: Path) -> None:
    source = tmp_path / "hello.py"
    source.write_text("def handler(args): return args\n")
    name = EntityName.parse("pkg/hello")
    body = action_body(name, source, ActionOptions(main="handler"))
    assert body["name"] == "pkg/hello"
    assert body["exec"] == {
        "kind": "python:default",
        "code": "def handler(args): return args\n",
        "main": "handler",
    }
    assert action_body(name, source, ActionOptions(kind="python:3.11"))["exec"]["kind"] == (
        "python:3.11"
    )


def test_zip_is_base64_and_needs_a_kind(tmp_path: Path) -> None:
    archive = tmp_path / "fn.zip"
    archive.write_bytes(b"PK\x03\x04\x00\xff")
    name = EntityName.parse("zipped")
    with pytest.raises(click.UsageError, match="--kind"):
        action_body(name, archive, ActionOptions())
    body = action_body(name, archive, ActionOptions(kind="nodejs:20"))
    assert body["exec"] == {
        "kind": "nodejs:20",
        "code": base64.b64encode(b"PK\x03\x04\x00\xff").decode(),
    }


def test_unknown_extension_needs_a_kind(tmp_path: Path) -> None:
    source = tmp_path / "main.lua"
    source.write_text("x")
    with pytest.raises(click.UsageError, match="--kind"):
        action_body(EntityName.parse("a"), source, ActionOptions())


def test_update_without_a_file_sends_only_what_was_given() -> None:
    name = EntityName.parse("my-worker")
    assert action_body(name, None, ActionOptions(memory=512)) == {
        "name": "my-worker",
        "limits": {"memory": 512},
    }
    assert action_body(name, None, ActionOptions()) == {"name": "my-worker"}
    with pytest.raises(click.UsageError):
        action_body(name, None, ActionOptions(kind="nodejs:20"))
