"""Run the real Adobe `aio` CLI headless from tests, isolated from the machine's own config.

The pinned CLI (@adobe/aio-cli 11.1.2 with aio-cli-plugin-runtime 8.1.0) is installed by
`scripts/lib/node-tools.sh` (`install_node_tools .cache/node-tools`, done by `scripts/test`).

What headless use needs (each item checked against a logging stub server):

* `AIO_TELEMETRY_DISABLED=true`: telemetry is on by default. Without this the first command in a
  new HOME prints a two-line notice on *stdout* (breaking JSON output) and every command spawns a
  detached worker that POSTs to an Adobe host. `CI=true` hides the notice but still sends.
* `AIO_SKIP_NEW_VERSION_CHECK=true`: otherwise a detached `get-version` process asks the npm
  registry for newer versions of @adobe/aio-cli (at most once a week per HOME).
* `USE_RUNTIME_AUTH=true`: else create/update/delete go to Adobe's deploy service with an IMS
  token, and with no token the CLI waits forever for a browser login. Any non-empty value counts,
  even "false". The other route is the deploy-service mode of `AioCli` (see `deploy_service_url`).
* A private HOME and cwd: the CLI reads and writes `$HOME/.config/aio` (or `$XDG_CONFIG_HOME/aio`,
  or `$AIO_CONFIG_FILE`), reads `~/.wskprops`, and reads `.aio` and `.env` from the cwd (a `.env`
  is loaded into its environment). It also takes every `AIO_*` variable as config, and
  `WHISK_*`, `WSK_CONFIG_FILE`, `__OW_*`, `DEBUG` and proxy variables change what it does, so the
  environment is built from scratch rather than inherited.

`-v`/`--verbose` debug lines go to stdout (aio-lib-core-logging sends `debug` output through
console.log), mixed with the command's output. Each command takes about 1.5 s to start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

#: Variables that keep the CLI from prompting, printing notices or calling out.
HEADLESS_ENV: dict[str, str] = {
    "AIO_TELEMETRY_DISABLED": "true",
    "AIO_SKIP_NEW_VERSION_CHECK": "true",
}

SETUP_HINT = (
    "run `scripts/test` once, or: "
    "`source scripts/lib/node-tools.sh && install_node_tools .cache/node-tools` "
    "(or point SLUICE_NODE_TOOLS at a directory made that way)"
)


class NodeToolsMissing(RuntimeError):
    """The pinned Node.js tools (aio CLI, openwhisk client) are not installed."""


def node_tools_dir() -> Path:
    """The directory whose node_modules holds the pinned aio CLI and openwhisk client.

    `SLUICE_NODE_TOOLS` if set, else `<repo>/.cache/node-tools`.
    """
    tools = Path(os.environ.get("SLUICE_NODE_TOOLS") or REPO / ".cache" / "node-tools")
    missing = [
        str(path)
        for path in (
            tools / "node_modules" / ".bin" / "aio",
            tools / "node_modules" / "openwhisk" / "package.json",
        )
        if not path.exists()
    ]
    if missing:
        raise NodeToolsMissing(
            f"the Node.js test tools are not installed ({', '.join(missing)} missing): {SETUP_HINT}"
        )
    return tools.resolve()


def base_env(home: Path) -> dict[str, str]:
    """A minimal environment for a Node.js process: PATH, HOME and a UTF-8 locale."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
    }


def run_isolated(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run with no stdin, capturing text output; on timeout kill the whole process group."""
    with subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr) from None
        return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


class AioFailed(AssertionError):
    """An `aio` command exited non-zero, or did not print JSON when JSON was expected."""

    def __init__(self, message: str, result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(
            f"{message}: {' '.join(result.args[1:])} (exit {result.returncode})\n"
            f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
        )
        self.result = result


@dataclass
class AioCli:
    """The real `aio` CLI pointed at one OpenWhisk API host, with its own HOME.

    By default every command uses the runtime API with Basic auth (`USE_RUNTIME_AUTH=true`).
    With `deploy_service_url`, create/update/delete of actions, triggers, rules (and api,
    deploy) go instead to `{deploy_service_url}/runtime/api/v1/...` with
    `Authorization: Bearer {ims_token}` and `x-namespace-id: {namespace}`: the CLI's default
    route, made to work offline through a cached IMS token good for a day. Read-only commands
    (get, list, invoke, fire, activations) use `apihost` and Basic auth either way.
    """

    tools_dir: Path
    apihost: str
    namespace: str
    auth: str
    home: Path
    deploy_service_url: str | None = None
    ims_token: str = "sluice-test-ims-token"
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The CLI runs with cwd=home, so relative paths would point elsewhere.
        self.tools_dir = self.tools_dir.absolute()
        self.home = self.home.absolute()

    @property
    def executable(self) -> Path:
        return self.tools_dir / "node_modules" / ".bin" / "aio"

    @property
    def config_file(self) -> Path:
        """Where the CLI keeps its global config under this HOME."""
        return self.home / ".config" / "aio"

    def env(self) -> dict[str, str]:
        env = {
            **base_env(self.home),
            **HEADLESS_ENV,
            "AIO_RUNTIME_APIHOST": self.apihost,
            "AIO_RUNTIME_NAMESPACE": self.namespace,
            "AIO_RUNTIME_AUTH": self.auth,
        }
        if self.deploy_service_url is None:
            env["USE_RUNTIME_AUTH"] = "true"
        else:
            # USE_RUNTIME_AUTH must be absent: any value, even "false", turns the route off.
            expiry_ms = int((time.time() + 86400) * 1000)  # must be > now + 10 min
            env["AIO_DEPLOY_SERVICE_URL"] = self.deploy_service_url
            env["AIO_IMS_CONTEXTS_CLI_ACCESS__TOKEN_TOKEN"] = self.ims_token
            env["AIO_IMS_CONTEXTS_CLI_ACCESS__TOKEN_EXPIRY"] = str(expiry_ms)
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`aio ARGS...` with no stdin; the result whatever the exit code."""
        self.home.mkdir(parents=True, exist_ok=True)
        return run_isolated([str(self.executable), *args], self.env(), self.home, timeout)

    def run_ok(self, *args: str, timeout: float = 60) -> str:
        """`aio ARGS...`, which must exit 0; its stdout."""
        result = self.run(*args, timeout=timeout)
        if result.returncode != 0:
            raise AioFailed("aio failed", result)
        return result.stdout

    def run_json(self, *args: str, timeout: float = 60) -> Any:
        """`aio ARGS...`, which must exit 0 and print one JSON value on stdout.

        Some commands print JSON by themselves (`rt:action:invoke`, `rt:activation:get`,
        `rt:trigger:get`); lists and creates need `--json`.
        """
        result = self.run(*args, timeout=timeout)
        if result.returncode != 0:
            raise AioFailed("aio failed", result)
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            raise AioFailed("aio printed no JSON", result) from None
