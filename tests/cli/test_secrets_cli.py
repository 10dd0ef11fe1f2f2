"""`sluice secret`: faas-cli's create (literal, file, stdin, --replace), list, update and
remove, and `sluice function deploy --secret` reading one."""

from __future__ import annotations

import secrets as random
from pathlib import Path

from tests.dialects.openfaas.helpers import open_client
from tests.support.cli import sluice
from tests.support.server import SluiceServer


def test_create_list_replace_remove_and_read(server: SluiceServer, tmp_path: Path) -> None:
    value = random.token_hex(8)
    sluice(server, "secret", "remove", "cli-token", ok=False)
    made = sluice(server, "secret", "create", "cli-token", stdin=f"  {value}\n")
    assert made.stdout.strip() == "Created: cli-token"
    again = sluice(server, "secret", "create", "cli-token", "--from-literal", "x", ok=False)
    assert again.returncode != 0
    assert 'secret with the name "cli-token" already exists' in again.stderr
    listed = sluice(server, "secret", "list").stdout
    assert "NAME" in listed
    assert "cli-token" in listed.split()
    assert value not in listed

    sluice(server, "function", "remove", "cli-secret", ok=False)
    deployed = sluice(
        server,
        "function",
        "deploy",
        "cli-secret",
        "--process",
        "cat /var/openfaas/secrets/cli-token",
        "--secret",
        "cli-token",
    )
    assert deployed.returncode == 0, deployed.stderr
    with open_client(server) as client:
        assert client.post("/function/cli-secret").text == value  # trimmed, as faas-cli does
        held = tmp_path / "value.bin"
        held.write_bytes(b"line one\nline two\n")
        replaced = sluice(
            server, "secret", "create", "cli-token", "--from-file", str(held), "--replace"
        )
        assert replaced.stdout.strip() == "Updated: cli-token"
        assert client.post("/function/cli-secret").text == "line one\nline two\n"

    sluice(server, "function", "remove", "cli-secret")
    assert sluice(server, "secret", "remove", "cli-token").stdout.strip() == "Removed: cli-token"
    gone = sluice(server, "secret", "remove", "cli-token", ok=False)
    assert gone.returncode != 0
