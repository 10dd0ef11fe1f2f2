"""Client config: per-setting precedence, the missing-key error, the wskprops file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sluice.cli.clientconfig import (
    DEFAULT_APIHOST,
    ClientConfig,
    ConfigError,
    client_config_path,
    load_client_config,
    normalize_apihost,
    read_wskprops,
    write_client_config,
)


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"SLUICE_CLIENT_CONFIG": str(tmp_path / "wskprops"), **values}


def _file(tmp_path: Path, text: str) -> None:
    (tmp_path / "wskprops").write_text(text)


def test_options_win_over_everything(tmp_path: Path) -> None:
    _file(tmp_path, "APIHOST=http://file:1\nAUTH=f:f\nNAMESPACE=filens\n")
    env = _env(
        tmp_path,
        SLUICE_APIHOST="http://sluice:2",
        SLUICE_AUTH="s:s",
        SLUICE_NAMESPACE="sluicens",
        AIO_RUNTIME_APIHOST="http://aio:3",
        AIO_RUNTIME_AUTH="a:a",
        AIO_RUNTIME_NAMESPACE="aions",
    )
    config = load_client_config("http://opt:4", "o:o", "optns", environ=env)
    assert config == ClientConfig("http://opt:4", "o:o", "optns")


def test_sluice_env_then_aio_env_then_file(tmp_path: Path) -> None:
    _file(tmp_path, "APIHOST=http://file:1\nAUTH=f:f\nNAMESPACE=filens\n")
    env = _env(
        tmp_path,
        SLUICE_AUTH="s:s",
        AIO_RUNTIME_AUTH="a:a",
        AIO_RUNTIME_NAMESPACE="aions",
    )
    config = load_client_config(None, None, None, environ=env)
    # each setting resolves on its own: auth from SLUICE_*, namespace from AIO_*, host from file
    assert config == ClientConfig("http://file:1", "s:s", "aions")


def test_file_alone(tmp_path: Path) -> None:
    _file(tmp_path, "# written by sluice serve\n\nAPIHOST = http://file:1/ \nAUTH=u:k\n")
    config = load_client_config(None, None, None, environ=_env(tmp_path))
    assert config == ClientConfig("http://file:1", "u:k", "_")


def test_empty_values_count_as_unset(tmp_path: Path) -> None:
    _file(tmp_path, "AUTH=f:f\n")
    env = _env(tmp_path, SLUICE_AUTH="", AIO_RUNTIME_AUTH="")
    assert load_client_config(None, "", None, environ=env).auth == "f:f"


def test_defaults_when_only_a_key_is_known(tmp_path: Path) -> None:
    config = load_client_config(None, "u:k", None, environ=_env(tmp_path))
    assert config == ClientConfig(DEFAULT_APIHOST, "u:k", "_")


def test_missing_key_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_client_config("http://h:1", None, "guest", environ=_env(tmp_path))
    message = caught.value.message
    assert "sluice serve" in message
    assert "SLUICE_AUTH" in message
    assert str(tmp_path / "wskprops") in message


def test_config_path_defaults_to_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert client_config_path({}) == tmp_path / "xdg" / "sluice" / "wskprops"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert client_config_path({}) == tmp_path / "home" / ".config" / "sluice" / "wskprops"
    assert client_config_path({"SLUICE_CLIENT_CONFIG": "/x/y"}) == Path("/x/y")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:3233/", "http://127.0.0.1:3233"),
        ("https://fn.example.com", "https://fn.example.com"),
        ("localhost:3233", "http://localhost:3233"),
        ("127.0.0.1:3233", "http://127.0.0.1:3233"),
        ("fn.example.com", "https://fn.example.com"),
    ],
)
def test_normalize_apihost(given: str, expected: str) -> None:
    assert normalize_apihost(given) == expected


def test_write_is_private_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "sluice" / "wskprops"
    write_client_config(path, "http://127.0.0.1:3233", "u:k", "guest")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_wskprops(path) == {
        "APIHOST": "http://127.0.0.1:3233",
        "AUTH": "u:k",
        "NAMESPACE": "guest",
    }
    write_client_config(str(path), "http://h:1", "u:k2", "guest")
    assert read_wskprops(path)["AUTH"] == "u:k2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["wskprops"]  # no temporary file left behind
    config = load_client_config(None, None, None, environ={"SLUICE_CLIENT_CONFIG": str(path)})
    assert config == ClientConfig("http://h:1", "u:k2", "guest")


def test_write_leaves_an_existing_directory_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    write_client_config(tmp_path / "wskprops", "http://h:1", "u:k", "guest")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
