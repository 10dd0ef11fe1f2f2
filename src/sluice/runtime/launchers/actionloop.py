"""Sluice's actionloop runner: runs an action that speaks OpenWhisk's actionloop protocol (a
compiled Go action, or a configured interpreter's own runner) behind the parent's protocol.

Started as `python -S -u actionloop.py <fd> INTERPRETER RUNNER` or `... <fd> --go GO`. The
parent talks to this process over the socket on fd, as to the Python runner (one JSON line
each way, each answer line starting with its call's id):

    {"op":"init","id":1,"main":"main","env":{...},"code":"..."} or "dir":"/unpacked/zip"
        -> 1 {"ok":true} | 1 {"error":"<why>"}
    {"op":"run","id":2,"value":{...},"env":{"__OW_...":"..."},"limit":<result bytes>}
        -> 2 {"result":<json>} | 2 {"error":"<why>"} | 2 {"oversize":<bytes>}

At init it starts the action: `INTERPRETER RUNNER <dir> <main>`, where <dir> holds the zip's
files or, for plain code, the code saved as `main` + the runner's file extension; or, with
--go, `<dir>/exec`: a zip's own, else built from the Go sources (plain code: main.go) with GO
(`go build`), with a main package that calls the capitalised <main> (OpenWhisk's Go rule)
unless the sources have a main() of their own. The action gets __OW_WAIT_FOR_ACK=1 and must write
{"ok":true} on fd 3 once it is ready; then, for each call, it reads one JSON line on stdin
({"value", "namespace", "action_name", "action_version", "api_host", "api_key",
"activation_id", "transaction_id", "deadline"}) and writes its result as one JSON line on
fd 3. Its stdout and stderr are the call's logs; after each call (and a failed init) this
runner writes XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX to both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import IO, Any

SENTINEL = b"XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n"
RESULTS_FD = 3

_action: subprocess.Popen[bytes] | None = None
_results: IO[bytes] | None = None


def end_of_activation() -> None:
    for fd in (1, 2):
        try:
            os.write(fd, SENTINEL)
        except OSError:
            continue


def _start(message: dict[str, Any], command: list[str]) -> str | None:
    global _action, _results
    home = os.getcwd()
    directory = message.get("dir") or os.path.join(home, "action")
    if "dir" not in message:
        code = message.get("code")
        if not isinstance(code, str) or not code.strip():
            return "Missing main/no code to execute."
        os.makedirs(directory, exist_ok=True)
        extension = ".go" if command[:1] == ["--go"] else os.path.splitext(command[1])[1]
        path = os.path.join(directory, "main" + extension)
        with open(path, "w", encoding="utf-8") as f:
            f.write(code)
    if command[:1] == ["--go"]:
        argv = [os.path.join(directory, "exec")]
        if not os.path.isfile(argv[0]):
            why = go_build(command[1], directory, message.get("main") or "main")
            if why is not None:
                return why
    else:
        argv = [*command, directory, message.get("main") or "main"]
    env = dict(os.environ)
    env.update({key: str(value) for key, value in (message.get("env") or {}).items()})
    env["__OW_WAIT_FOR_ACK"] = "1"
    # fd 3 is held (main): the pipe gets other numbers, and its write end becomes the action's 3
    read_end, write_end = os.pipe()
    os.dup2(write_end, RESULTS_FD, inheritable=True)
    try:
        _action = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            cwd=directory,
            env=env,
            pass_fds=(RESULTS_FD,),
        )
    except OSError as exc:
        return f"The action could not start: {exc}"
    finally:
        # only the action holds the write end: its exit ends the results
        os.dup2(os.open(os.devnull, os.O_RDONLY), RESULTS_FD)
        os.close(write_end)
    _results = os.fdopen(read_end, "rb")
    ack = _read_result()
    if ack is None:
        return "The action exited before it was ready."
    try:
        ready = json.loads(ack)
    except ValueError:
        ready = None
    if not isinstance(ready, dict) or ready.get("ok") is not True:
        return f'The action\'s acknowledgement is not {{"ok":true}}: {ack[:200]!r}'
    return None


#: the main package Go actions get unless they have a main() of their own: it speaks the
#: actionloop protocol and calls ENTRY with each call's value decoded into its parameter type
GO_LOOP = """package main

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"strings"
)

func main() {
	results := os.NewFile(3, "results")
	entry := reflect.ValueOf(ENTRY)
	results.WriteString("{\\"ok\\":true}\\n")
	input := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := input.ReadBytes('\\n')
		if err != nil {
			return
		}
		var message map[string]json.RawMessage
		if err := json.Unmarshal(line, &message); err != nil {
			results.WriteString("{\\"error\\":\\"bad input\\"}\\n")
			continue
		}
		for key, raw := range message {
			if key == "value" {
				continue
			}
			var text string
			if json.Unmarshal(raw, &text) != nil {
				text = string(raw)
			}
			os.Setenv("__OW_"+strings.ToUpper(key), text)
		}
		value := message["value"]
		if len(value) == 0 {
			value = []byte("{}")
		}
		arg := reflect.New(entry.Type().In(0))
		var out interface{}
		if err := json.Unmarshal(value, arg.Interface()); err != nil {
			out = map[string]string{"error": "The action cannot take its input: " + err.Error()}
		} else {
			out = entry.Call([]reflect.Value{arg.Elem()})[0].Interface()
		}
		data, err := json.Marshal(out)
		if err != nil {
			data, _ = json.Marshal(map[string]string{"error": err.Error()})
		}
		os.Stdout.Sync()
		os.Stderr.Sync()
		results.Write(append(data, '\\n'))
	}
}
"""


def go_build(go: str, directory: str, main: str) -> str | None:
    """Build the Go sources in `directory` into `exec`, with GO_LOOP as their main unless they
    have their own; why not, or None."""
    import re

    sources = ""
    for name in sorted(os.listdir(directory)):
        if name.endswith(".go"):
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
                sources += f.read()
    if not sources:
        return "The action has no Go source and no executable 'exec'."
    if not re.search(r"^func main\(\)", sources, re.MULTILINE):
        entry = main[:1].upper() + main[1:]
        if not re.search(rf"^func {re.escape(entry)}\(", sources, re.MULTILINE):
            return f"The action has no function {entry} in package main."
        with open(os.path.join(directory, "zz_sluice_loop.go"), "w", encoding="utf-8") as f:
            f.write(GO_LOOP.replace("ENTRY", entry))
    home = os.getcwd()
    if not os.path.exists(os.path.join(directory, "go.mod")):
        with open(os.path.join(directory, "go.mod"), "w", encoding="utf-8") as f:
            f.write("module action\n")
    os.makedirs(os.path.join(home, ".gotmp"), exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "CGO_ENABLED": "0",
            "GOPROXY": "off",
            "GOFLAGS": "-mod=mod",
            "GOTOOLCHAIN": "local",
            "GOCACHE": os.path.join(home, ".gocache"),
            "GOPATH": os.path.join(home, ".gopath"),
            "TMPDIR": os.path.join(home, ".gotmp"),
        }
    )
    done = subprocess.run(
        [go, "build", "-o", "exec", "."],
        cwd=directory,
        env=env,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        said = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
        return f"The action's Go code does not build: {said[:2000]}"
    return None


def _read_result() -> str | None:
    line = _results.readline() if _results is not None else b""
    return line.decode("utf-8", "replace").strip() if line else None


def init(message: dict[str, Any], command: list[str]) -> dict[str, Any]:
    if _action is not None:
        end_of_activation()
        return {"error": "Cannot initialize the action more than once."}
    why = _start(message, command)
    if why is not None:
        end_of_activation()
        return {"error": why}
    return {"ok": True}


def run(message: dict[str, Any]) -> dict[str, Any]:
    answer = outcome(message)
    end_of_activation()
    return answer


def outcome(message: dict[str, Any]) -> dict[str, Any]:
    if _action is None or _action.stdin is None:
        return {"error": "The action has not been initialized."}
    env = message.get("env") or {}
    line: dict[str, Any] = {"value": message.get("value", {})}
    for key, value in env.items():
        if key.startswith("__OW_"):
            line[key[len("__OW_") :].lower()] = value
    if str(line.get("deadline", "")).isdigit():  # a number, as OpenWhisk sends it
        line["deadline"] = int(line["deadline"])
    try:
        _action.stdin.write(json.dumps(line).encode() + b"\n")
        _action.stdin.flush()
    except OSError:
        return {"error": "The action exited."}
    text = _read_result()
    if text is None:
        return {"error": "The action exited before it answered."}
    try:
        result = json.loads(text)
    except ValueError:
        return {"error": "The action did not return a dictionary."}
    if not isinstance(result, dict | list):
        return {"error": "The action did not return a dictionary."}
    data = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    if len(data.encode()) > message.get("limit", len(data.encode())):
        return {"oversize": len(data.encode())}
    return {"result": result}


def main() -> None:
    fd = int(sys.argv[1])
    command = sys.argv[2:]
    # out of the way of fd 3, which the action gets
    channel = os.dup(fd) if fd == RESULTS_FD else fd
    if channel != fd:
        os.close(fd)
    os.set_inheritable(channel, False)
    if os.open(os.devnull, os.O_RDONLY) != RESULTS_FD:  # held until the action gets it
        os.dup2(os.open(os.devnull, os.O_RDONLY), RESULTS_FD)
    with open(channel, "rb") as lines, open(channel, "wb", closefd=False) as out:
        for raw in lines:
            call_id: Any = 0
            answer: dict[str, Any]
            try:
                message = json.loads(raw)
                call_id = message.get("id", 0)
            except ValueError as exc:
                answer = {"error": f"bad message: {exc}"}
            else:
                if message.get("op") == "init":
                    answer = init(message, command)
                elif message.get("op") == "run":
                    answer = run(message)
                else:
                    answer = {"error": f"unknown op {message.get('op')}"}
            data = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
            out.write(f"{call_id} {data}\n".encode("utf-8", "surrogatepass"))
            out.flush()


if __name__ == "__main__":
    main()
