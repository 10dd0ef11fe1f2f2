"""The `process` kind: OpenFaaS's classic watchdog, so that any program that reads stdin
and writes stdout is a function.

One process per call runs the function's command (split on single spaces, no shell, as
`fprocess`), in a fresh directory holding the function's files when it has a zip. The
request body is its stdin; its stdout, byte for byte (with stderr unless the function sets
`combine_output=false`), is the response body. Http_Method, Http_Path, Http_Query and
Http_<Header> variables describe the request. Exit status 0 answers 200; any other 500
with `exit status N` and the output. `content_type` fixes the response's type; without it
the request's type is echoed (by the dialect). `write_debug=true` logs the output too.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import IO, Any

from sluice.envelope import PATH, QUERY
from sluice.runtime.archive import ArchiveError, unpack
from sluice.runtime.base import ActionCode, Outcome, RunRequest, RunResult
from sluice.runtime.bundle import command_paths, read_deps
from sluice.runtime.capacity import SHUTTING_DOWN, CapacityClosed
from sluice.runtime.child import Child, make_home
from sluice.runtime.fn_request import FnRequest, response
from sluice.runtime.logs import STDERR, CallLogs
from sluice.runtime.oneshot import run_once
from sluice.runtime.results import failure, init_failed, out_of_memory, timed_out
from sluice.runtime.settings import FamilySettings
from sluice.sandbox.rlimits import DEFAULT_PATH
from sluice.timing import now_ms

#: of-watchdog's streaming mode: a process per call as here, its stdout the body and its
#: stderr the logs only (upstream has sent 200 before the process ends; here the answer
#: waits for the end, so a failure answers 500 with the end of the stderr it wrote)
STREAMING = "streaming"
#: how much of what a process wrote to stderr before it failed a 500 carries
EXIT_LINES, EXIT_BYTES = 40, 4096  # a Node.js error with its stack fits


class CommandError(Exception):
    """The function has no command to run."""


def command_line(action: ActionCode) -> list[str]:
    """fprocess split on spaces: the command is the code, or `main` beside a zip."""
    text = action.main if action.binary else action.code
    words = [word for word in text.strip().split(" ") if word]
    if not words:
        raise CommandError("the function has no command (envProcess)")
    # templates' images name `python` (python:3-alpine has it); a system with python3 only
    # runs that
    if words[0] == "python" and shutil.which("python", path=DEFAULT_PATH) is None:
        words[0] = "python3"
    return words


async def prepare(action: ActionCode, home: Path, max_unzipped: int) -> list[str]:
    """The command line, the function's files unpacked in `home` (removed if that fails:
    CommandError says why)."""
    try:
        command = command_line(action)
        if action.binary:
            await asyncio.to_thread(unpack, action.code, home, max_unzipped)
    except (ArchiveError, CommandError) as exc:
        await asyncio.to_thread(shutil.rmtree, home, True)
        raise CommandError(str(exc)) from exc
    return command


def canonical(name: str) -> str:
    """Go's canonical header name: `x-call-id` -> `X-Call-Id`."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def cgi_env(params: Mapping[str, Any], request: FnRequest) -> dict[str, str]:
    """The watchdog's variables for one request (first value of each header)."""
    env = {"Http_" + canonical(k).replace("-", "_"): v for k, v in request.headers.items()}
    env["Http_Method"] = request.method
    env["Http_Path"] = str(params.get(PATH) or "/")
    query = str(params.get(QUERY) or "")
    if query:
        env["Http_Query"] = query
    env["Http_ContentLength"] = env["Http_Content_Length"] = str(len(request.body))
    return env


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes")


class ProcessFunctions:
    def __init__(self, settings: FamilySettings) -> None:
        self.settings = settings
        self.capacity = settings.capacity

    async def run(self, request: RunRequest, start_ms: int) -> RunResult:
        action = request.action
        logs = CallLogs(request.log_limit_bytes)
        home = make_home(self.settings.work_dir)
        try:
            command = await prepare(action, home, self.settings.max_unzipped)
        except CommandError as exc:
            return failure(Outcome.DEVELOPER_ERROR, init_failed(str(exc)), logs, start_ms)
        http = FnRequest.from_call(request.params, request.env)
        deps = await asyncio.to_thread(read_deps, home, self.settings.builds_dir, action.owner)
        env = {**action.env, **request.env, **cgi_env(request.params, http)}
        env.update(command_paths(home, deps, action.env))
        spec = self.settings.sandbox.launch(
            command, env, home, visible=deps.dirs, network=action.network, secrets=action.secrets
        )
        combine = _flag(action.env, "combine_output", action.env.get("mode") != STREAMING)
        with (
            tempfile.TemporaryFile(dir=self.settings.work_dir) as stdin,
            tempfile.TemporaryFile(dir=self.settings.work_dir) as stdout,
        ):
            stdin.write(http.body)
            stdin.seek(0)
            init_ms = now_ms() - start_ms

            def start() -> Awaitable[Child]:
                return Child.spawn(
                    spec,
                    logs.add,
                    stdin=stdin.fileno(),
                    stdout=stdout.fileno(),
                    stderr=stdout.fileno() if combine else None,
                )

            try:
                ended = await run_once(
                    self.capacity, start, self.settings.memory, action.memory_mb, request.timeout_ms
                )
            except OSError as exc:
                message = init_failed(f"the command cannot be started: {exc}")
                return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms)
            except CapacityClosed:
                return failure(Outcome.PLATFORM_ERROR, SHUTTING_DOWN, logs, start_ms, init_ms)
            body = _read(stdout, request.result_limit_bytes + 1)
        end = ended.end_ms
        if ended.timed_out:
            message = timed_out(request.timeout_ms)
            return failure(Outcome.TIMEOUT, message, logs, start_ms, init_ms, end)
        if ended.over_memory:
            message = out_of_memory(action.memory_mb)
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end)
        if len(body) > request.result_limit_bytes:
            message = (
                "The function's output exceeded the allowed length: "
                f"more than {request.result_limit_bytes} bytes."
            )
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms, end)
        said = b""
        if ended.returncode != 0 and not combine:
            said = logs.last_text(STDERR, EXIT_LINES, EXIT_BYTES).encode()
        seconds = (end - start_ms) / 1000
        logs.add(STDERR, f"Wrote {len(body)} Bytes - Duration: {seconds:f} seconds".encode())
        if _flag(action.env, "write_debug", False):
            for line in body.splitlines():
                logs.add(STDERR, line)
        outcome, result = _answer(action.env, ended.returncode, body, said)
        return RunResult(outcome, result, logs.lines(), start_ms, end, init_ms, len(body))


def _answer(
    env: Mapping[str, str], returncode: int | None, body: bytes, said: bytes = b""
) -> tuple[Outcome, dict[str, Any]]:
    """200 with the output, or 500 with `exit status N` and the output, as the watchdog
    (and `said`, the stderr of a process whose stderr is not in its output)."""
    content_type = env.get("content_type")
    headers = {"Content-Type": content_type} if content_type else {}
    if returncode == 0:
        return Outcome.SUCCESS, response(200, headers, body)
    status = f"exit status {returncode}\n".encode()
    if said and body and not body.endswith(b"\n"):
        said = b"\n" + said
    return Outcome.APPLICATION_ERROR, {"error": response(500, headers, status + body + said)}


def _read(file: IO[bytes], limit: int) -> bytes:
    file.seek(0)
    return file.read(limit)
