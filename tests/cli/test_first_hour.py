"""What a new user tries in the first hour with the `sluice` CLI: the context it uses, calls
not finished yet in `activation list`, `activation get --wait ID`, and exit codes that tell a
usage error from a missing entity."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.cli import sluice
from tests.support.server import SluiceServer, wait_for

SLEEPER_JS = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms}), args.ms));
}
"""


def test_context_prints_and_sets_what_the_cli_uses(server: SluiceServer, tmp_path: Path) -> None:
    shown = sluice(server, "context", "get").stdout
    assert f"apihost    {server.url}" in shown
    assert f"auth       {server.auth}" in shown
    assert sluice(server, "context", "get", "auth").stdout == server.auth + "\n"
    exports = sluice(server, "context", "get", "--export").stdout
    assert f"AIO_RUNTIME_AUTH={server.auth}" in exports

    # a fresh home: no key until one is set, then every command uses it
    home = tmp_path / "home"
    env = {**server.cli_env, "HOME": str(home), "SLUICE_CLIENT_CONFIG": str(home / "wskprops")}
    assert sluice(server, "action", "list", env=env, ok=False).returncode == 1
    refused = sluice(server, "context", "set", "--apihost", server.url, env=env, ok=False)
    assert refused.returncode == 2
    assert "give --auth UUID:KEY too" in refused.stderr
    sluice(server, "context", "set", "--apihost", server.url, "--auth", server.auth, env=env)
    sluice(server, "context", "set", "--namespace", "guest", env=env)  # the others are kept
    assert sluice(server, "context", "get", "namespace", env=env).stdout == "guest\n"
    assert sluice(server, "action", "list", env=env).stdout.startswith("Datetime")
    assert (home / "wskprops").stat().st_mode & 0o777 == 0o600


def test_activation_list_shows_calls_not_finished_and_get_waits_on_an_id(
    server: SluiceServer, tmp_path: Path
) -> None:
    code = tmp_path / "first-hour-slow.js"
    code.write_text(SLEEPER_JS)
    sluice(server, "action", "create", "first-hour-slow", str(code))
    invoked = sluice(server, "action", "invoke", "first-hour-slow", "-p", "ms", "3000")
    activation_id = json.loads(invoked.stdout)["activationId"]

    def listed_live() -> list[str] | None:
        table = sluice(server, "activation", "list").stdout.splitlines()
        row = next((line for line in table if activation_id in line), None)
        return row.split() if row else None

    row = wait_for(listed_live, 30, "the call in the list")
    assert row[2] in ("queued", "running")
    assert row[-1] == "first-hour-slow"
    # the option before the ID waits (without a limit) as after it
    started = time.monotonic()
    record = json.loads(sluice(server, "activation", "get", "--wait", activation_id).stdout)
    assert record["response"]["result"] == {"slept": 3000}
    assert time.monotonic() - started < 30
    done = wait_for(listed_live, 30, "the call in the list, finished")
    assert done[2] == "success"
    bad = sluice(server, "activation", "get", activation_id, "--wait", "soon", ok=False)
    assert bad.returncode == 2
    assert "'soon' is not a number of seconds" in bad.stderr


def test_exit_codes_tell_usage_from_missing_from_refused(server: SluiceServer) -> None:
    assert sluice(server, "action", "get", ok=False).returncode == 2  # a usage error
    missing = sluice(server, "action", "get", "no-such-action", ok=False)
    assert missing.returncode == 148  # 404, as wsk: the status less 256
    assert missing.stderr.startswith("error: action guest/no-such-action: ")  # what is missing
    gone = sluice(server, "activation", "get", "0" * 32, ok=False)
    assert gone.stderr.startswith(f"error: activation {'0' * 32}: ")
    refused = sluice(server, "--auth", "no:body", "action", "list", ok=False)
    assert refused.returncode == 145  # 401
    unreachable = sluice(server, "--apihost", "http://127.0.0.1:9", "action", "list", ok=False)
    assert unreachable.returncode == 3
