"""Drive the real `openwhisk` npm client (3.21.9, from the Node.js test tools) from tests.

    outcome = ow_call(
        "return ow.actions.invoke({name: args.name, blocking: false, params: {a: 1}})",
        apihost=server.url, api_key=server.auth, namespace="guest",
        args={"name": "worker"},
    )
    assert outcome.ok, outcome.error
    assert len(outcome.value["activationId"]) == 32

The client is configured the way an action's own `require('openwhisk')()` is: from
`__OW_API_HOST`, `__OW_API_KEY` and `__OW_NAMESPACE` only (plus `extra_env`, e.g.
`__OW_TRANSACTION_ID`, `__OW_USER_AGENT`), with no retries and no proxy.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.aio import base_env, node_tools_dir, run_isolated

# The body runs inside an async function with `openwhisk` (the module), `ow` (a client made with
# no options) and `args` (the JSON `args`). Its resolved value, or its rejection reason, is
# printed as one JSON line. Errors are flattened to their own properties plus name and message:
# an OpenWhiskError gives {name, message, statusCode, error}.
_WRAPPER = r"""
const openwhisk = require('openwhisk')
const flatten = (value) => {
  if (!(value instanceof Error)) return value
  const out = { name: value.name, message: value.message }
  for (const key of Object.getOwnPropertyNames(value)) {
    if (key !== 'stack' && !(key in out)) out[key] = value[key]
  }
  return out
}
const emit = (envelope) => new Promise((resolve) => {
  process.stdout.write(JSON.stringify(envelope) + '\n', resolve)
})
const main = async () => {
  const args = JSON.parse(process.env.SLUICE_OW_ARGS || 'null')
  const ow = openwhisk()
  const body = async (openwhisk, ow, args) => {
/*BODY*/
  }
  return body(openwhisk, ow, args)
}
main().then(
  (value) => emit({ ok: true, value: value === undefined ? null : value }),
  (error) => emit({ ok: false, error: flatten(error) === undefined ? null : flatten(error) })
).then(() => process.exit(0))
"""


@dataclass(frozen=True)
class OwOutcome:
    """What the script's promise did: resolved with `value`, or rejected with `error`."""

    ok: bool
    value: Any
    error: Any
    stderr: str


class NodeScriptFailed(AssertionError):
    pass


def run_node(
    script: str,
    *,
    env: dict[str, str],
    tools_dir: Path | None = None,
    timeout: float = 60,
) -> Any:
    """Run a CommonJS Node.js script that can `require('openwhisk')` from the test tools.

    `env` is added to a minimal environment (PATH, HOME, locale, NODE_PATH). The script must
    exit 0 and print one JSON value as its last stdout line, which is returned parsed.
    """
    return _run_node(script, env, tools_dir, timeout)[0]


def _run_node(
    script: str, env: dict[str, str], tools_dir: Path | None, timeout: float
) -> tuple[Any, str]:
    tools = tools_dir if tools_dir is not None else node_tools_dir()
    with tempfile.TemporaryDirectory(prefix="sluice-node-") as tmp:
        work = Path(tmp)
        path = work / "script.js"
        path.write_text(script)
        full_env = {
            **base_env(work),
            "NODE_PATH": str(tools / "node_modules"),
            **env,
        }
        result = run_isolated(["node", str(path)], full_env, work, timeout)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise NodeScriptFailed(
            f"node script failed (exit {result.returncode})\n--- stdout\n{result.stdout}"
            f"--- stderr\n{result.stderr}"
        )
    try:
        return json.loads(lines[-1]), result.stderr
    except json.JSONDecodeError:
        raise NodeScriptFailed(
            f"node script printed no JSON last line\n--- stdout\n{result.stdout}"
            f"--- stderr\n{result.stderr}"
        ) from None


def ow_env(apihost: str, api_key: str, namespace: str) -> dict[str, str]:
    """What an OpenWhisk runtime gives an action, for `require('openwhisk')()`."""
    return {"__OW_API_HOST": apihost, "__OW_API_KEY": api_key, "__OW_NAMESPACE": namespace}


def ow_call(
    body: str,
    *,
    apihost: str,
    api_key: str,
    namespace: str,
    args: Any = None,
    extra_env: dict[str, str] | None = None,
    tools_dir: Path | None = None,
    timeout: float = 60,
) -> OwOutcome:
    """Run `body` (JavaScript; may `await`; `return` the value) with `ow = require('openwhisk')()`.

    The body sees `openwhisk`, `ow` and `args` (the JSON-encoded `args`). A rejection is not an
    error here: it comes back as `OwOutcome(ok=False, error=...)`.
    """
    env = {
        **ow_env(apihost, api_key, namespace),
        "SLUICE_OW_ARGS": json.dumps(args),
        **(extra_env or {}),
    }
    envelope, stderr = _run_node(_WRAPPER.replace("/*BODY*/", body), env, tools_dir, timeout)
    if not isinstance(envelope, dict) or "ok" not in envelope:
        raise NodeScriptFailed(f"unexpected output from the openwhisk wrapper: {envelope!r}")
    return OwOutcome(
        ok=bool(envelope["ok"]),
        value=envelope.get("value"),
        error=envelope.get("error"),
        stderr=stderr,
    )


def ow_value(body: str, **kwargs: Any) -> Any:
    """Like `ow_call`, but the promise must resolve; its value."""
    outcome = ow_call(body, **kwargs)
    if not outcome.ok:
        raise NodeScriptFailed(f"the openwhisk call was rejected: {outcome.error!r}")
    return outcome.value
