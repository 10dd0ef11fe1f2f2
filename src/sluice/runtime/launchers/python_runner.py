"""Sluice's Python runner: one process, one action, one call at a time.

Started as `python -S -u python_runner.py <fd>`: no site-packages, so functions see the
standard library and the directories on PYTHONPATH only. The parent talks to this process over
the socket on fd, one JSON line each way; every message carries its call's id and every
answer line starts with that id and a space. stdout and stderr belong to the function (its
logs). After every call, and after a failed init, the line
XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX goes to stdout and to stderr. Calls run one at a time
(an action's limits.concurrency does not apply to Python).

    {"op":"init","id":1,"main":"main","env":{...},"code":"..."}  or  ..."dir":"/unpacked/zip",
        "path":["/its/dependencies"]}
        -> 1 {"ok":true} | 1 {"error":"<why>"}
    {"op":"run","id":2,"value":{...},"env":{"__OW_...":"..."},"limit":<result bytes>}
        -> 2 {"result":<json>} | 2 {"error":"<developer error message>"} | 2 {"oversize":<bytes>}

Started cold, this process is part of a call's latency: it imports nothing but os and the C
half of json at start (json itself, socket, traceback, typing and contextlib cost ~10-20 ms of
start-up on this kind of machine, more than the bare interpreter).
"""

import _json  # json's C scanner and encoder: json itself imports re, enum and more
import os
import sys

# for the type checker only (typing costs ms of start-up): the annotations that use them are
# strings
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

SENTINEL = b"XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n"
MODULE = "main__"

_main: "Any" = None
_call_env: list[str] = []


class InitError(Exception):
    """Why the action cannot be initialised, in the runner's words (no traceback)."""


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def end_of_activation() -> None:
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        try:  # noqa: SIM105 - contextlib.suppress: an import that costs ms at start-up
            stream.flush()
        except Exception:  # noqa: S110 - the function may have closed or replaced it
            pass
        try:
            os.write(fd, SENTINEL)
        except OSError:
            continue


def dumps(value: "Any") -> str:
    """json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False) for a dict
    or list: the encoder json.dumps itself uses for it."""
    encode = _json.make_encoder({}, _not_serializable, _json.encode_basestring, None, ":", ",",
                                False, False, False)  # fmt: skip
    return "".join(encode(value, 0))


def _not_serializable(value: "Any") -> "Any":
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


class _Decoding:
    """The settings _json's scanner reads from its context: json.loads's defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": -float("inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__  # fmt: skip


# typeshed wants a scanner as the context: at run time it is any object with these attributes
_scan = _json.make_scanner(_Decoding())  # type: ignore[arg-type]


def loads(line: bytes) -> "Any":
    """json.loads(line): a message the parent wrote (a UTF-8 JSON object and a line end) is
    read here; anything else, and any error, by json.loads itself."""
    if line[:1] == b"{" and line[1:2] != b"\x00":  # what json.detect_encoding calls UTF-8
        try:
            text = line.decode("utf-8", "surrogatepass")
            value, end = _scan(text, 0)
            if not text[end:].strip(" \t\n\r"):
                return value
        except (ValueError, StopIteration):
            pass
    import json

    return json.loads(line)


def load_text(code: "Any") -> "ModuleType":
    if not isinstance(code, str) or not code.strip():
        raise InitError("Missing main/no code to execute.")
    directory = os.path.join(os.getcwd(), "action")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "__main__.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(code)
    return load_file(path)


def load_dir(directory: str, extra: list[str]) -> "ModuleType":
    path = os.path.join(directory, "__main__.py")
    if not os.path.isfile(path):
        raise InitError("Zip file does not include __main__.py")
    # from the standard library, before a module of the zip can take its name (token.py...)
    import traceback  # noqa: F401

    sys.path.insert(0, directory)
    # the environment its requirements.txt was installed into at deploy
    sys.path[1:1] = [str(p) for p in extra]
    # a bundled virtualenv (as OpenWhisk's Python runtime accepts)
    venv = os.path.join(directory, "virtualenv", "lib")
    if os.path.isdir(venv):
        for name in sorted(os.listdir(venv)):
            packages = os.path.join(venv, name, "site-packages")
            if os.path.isdir(packages):
                sys.path.insert(1, packages)
    return load_file(path)


def load_file(path: str) -> "ModuleType":
    with open(path, "rb") as f:
        source = f.read()
    module = type(sys)(MODULE)
    module.__file__ = path
    sys.modules[MODULE] = module
    exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 - running it is the point
    return module


def print_exc() -> None:
    """traceback.print_exc(), imported only when there is one to print."""
    import traceback

    traceback.print_exc()


def init(message: "dict[str, Any]") -> "dict[str, Any]":
    global _main
    if _main is not None:
        end_of_activation()
        return {"error": "Cannot initialize the action more than once."}
    try:
        for key, value in (message.get("env") or {}).items():
            os.environ[key] = str(value)
        name = message.get("main") or "main"
        code = message.get("code")
        if "dir" in message:
            module = load_dir(message["dir"], message.get("path") or [])
        else:
            module = load_text(code)
        entry = getattr(module, name, None)
        if not callable(entry):
            raise InitError(f"Action entrypoint '{name}' is not a function.")
        _main = entry
        return {"ok": True}
    except InitError as exc:
        end_of_activation()
        return {"error": str(exc)}
    except BaseException as exc:  # SystemExit in module code too
        print_exc()
        end_of_activation()
        return {"error": describe(exc)}


def set_call_env(env: "dict[str, Any]") -> None:
    global _call_env
    for key in _call_env:
        if key not in env:
            os.environ.pop(key, None)
    _call_env = list(env)
    for key, value in env.items():
        os.environ[key] = str(value)


def outcome(message: "dict[str, Any]") -> str:
    if _main is None:
        return dumps({"error": "The action has not been initialized."})
    set_call_env(message.get("env") or {})
    try:
        result = _main(message.get("value", {}))
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(_wait(result))
    except Exception as exc:
        print_exc()
        return dumps({"error": "An error has occurred: " + describe(exc)})
    # a tuple, not dict | list: python kinds run this on Python 3.9 too
    if not isinstance(result, (dict, list)):
        return dumps({"error": "The action did not return a dictionary."})
    try:
        text = dumps(result).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError) as exc:
        return dumps({"error": "An error has occurred: " + describe(exc)})
    if len(text) > message.get("limit", len(text)):
        return dumps({"oversize": len(text)})
    return '{"result":' + text.decode("utf-8", "surrogatepass") + "}"


async def _wait(awaitable: "Any") -> "Any":
    return await awaitable


def run(message: "dict[str, Any]") -> str:
    try:
        answer = outcome(message)
    except BaseException as exc:  # SystemExit from the function and the like
        answer = dumps({"error": "An error has occurred: " + describe(exc)})
    end_of_activation()
    return answer


def main() -> None:
    fd = int(sys.argv[1])
    del sys.argv[1:]
    # the runner's own directory is no place to import from
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    os.set_inheritable(fd, False)
    # the socket read and written as a plain file descriptor: no need for the socket module
    for line in open(fd, "rb"):  # noqa: SIM115 - read until the parent closes it
        call_id: Any = 0
        try:
            message = loads(line)
            call_id = message.get("id", 0)
        except ValueError as exc:
            answer = dumps({"error": f"bad message: {exc}"})
        else:
            if message.get("op") == "init":
                answer = dumps(init(message))
            elif message.get("op") == "run":
                answer = run(message)
            else:
                answer = dumps({"error": f"unknown op {message.get('op')}"})
        out = f"{call_id} {answer}\n"
        send(fd, out.encode("utf-8", "surrogatepass"))


def send(fd: int, data: bytes) -> None:
    """All of `data` (socket.sendall on a blocking socket)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    main()
