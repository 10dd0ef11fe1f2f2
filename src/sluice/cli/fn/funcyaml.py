"""func.yaml: read and checked field by field (an error names the field and its line), and
its version bumped in place on deploy (comments and layout kept).

Two forms: the seed era's (no `schema_version`; `format` defaults to `default`) and the one
today's `fn init` writes (`schema_version: 20180708`, no `format`: Fn runs it over
http-stream, the only format its FDKs speak)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FILE_NAME = "func.yaml"
#: the schema today's `fn init` writes
SCHEMA_VERSION = 20180708
RUNTIMES = {"go": "go", "python": "python", "python3": "python", "node": "node", "nodejs": "node"}
#: Fn's versioned runtime names (python3.12, node24, go1.24) run on this machine's interpreter
_VERSIONED = re.compile(r"^(python)3\.\d+$|^(node)\d+$|^(go)1\.\d+$")
FORMATS = ("default", "http-stream", "json")
TYPES = ("sync", "async")
#: accepted and not used here (container builds, tests, newer schema's extras)
IGNORED = ("build", "build_image", "run_image", "tests", "expects", "content_type")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_VERSION_LINE = re.compile(r"^(\s*version\s*:\s*)(['\"]?)(\d+\.\d+\.\d+)(['\"]?)(.*)$")


class FuncFileError(Exception):
    """func.yaml cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class FuncFile:
    path: Path
    name: str
    version: str
    runtime: str
    cmd: str = ""
    format: str = "default"
    type: str = "sync"
    memory: int | None = None
    timeout: int | None = None
    idle_timeout: int | None = None
    config: dict[str, str] = field(default_factory=dict)
    headers: dict[str, list[str]] = field(default_factory=dict)
    route: str | None = None
    #: 1-based line of `version:`, None when the file has none
    version_line: int | None = None
    #: today's form (`schema_version: 20180708`): deployed through Fn's v2 API
    schema_version: int | None = None
    #: today's form's http triggers: {name, type, source}
    triggers: list[dict[str, str]] = field(default_factory=list)
    #: the function's annotations (`network:` is one of them: what its processes reach)
    annotations: dict[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def route_path(self) -> str:
        """func.yaml `path` (or a trigger's source), else `/` + the name."""
        return self.route or f"/{self.name}"


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FuncFileError(f"{where}: field '{key}' must be a non-empty string")
    return value.strip()


def _choice(allowed: tuple[str, ...]) -> Callable[[Any, str, str], str]:
    def check(value: Any, where: str, key: str) -> str:
        if value not in allowed:
            raise FuncFileError(
                f"{where}: field '{key}' is {value!r}; use one of: {', '.join(allowed)}"
            )
        return str(value)

    return check


def _positive(value: Any, where: str, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise FuncFileError(f"{where}: field '{key}' must be a positive whole number")
    return value


def _runtime(value: Any, where: str, key: str) -> str:
    found = RUNTIMES.get(str(value))
    versioned = _VERSIONED.match(str(value))
    if found is None and versioned is not None:
        found = next(group for group in versioned.groups() if group)
    if found is None:
        supported = ", ".join(sorted(set(RUNTIMES.values())))
        raise FuncFileError(f"{where}: field '{key}' is {value!r}; Sluice runs: {supported}")
    return found


def _annotations(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(name, str) for name in value):
        raise FuncFileError(f"{where}: field '{key}' must be a map of names to values")
    return dict(value)


def _version(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not _VERSION.match(value):
        raise FuncFileError(f"{where}: field '{key}' must look like 0.0.1, not {value!r}")
    return value


def _config(value: Any, where: str, key: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise FuncFileError(f"{where}: field '{key}' must be a map of names to values")
    out = {}
    for name, item in value.items():
        if isinstance(item, dict | list) or item is None:
            raise FuncFileError(f"{where}: field '{key}.{name}' must be a single value")
        out[str(name)] = str(item).lower() if isinstance(item, bool) else str(item)
    return out


def _headers(value: Any, where: str, key: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise FuncFileError(f"{where}: field '{key}' must be a map of header names to values")
    return {
        str(k): [str(i) for i in v] if isinstance(v, list) else [str(v)] for k, v in value.items()
    }


def _path(value: Any, where: str, key: str) -> str:
    text = _text(value, where, key)
    if not text.startswith("/"):
        raise FuncFileError(f"{where}: field '{key}' must start with '/'")
    return text


def _triggers(value: Any, where: str, key: str) -> list[dict[str, str]]:
    """http triggers, each with a name, and a source starting with '/'."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise FuncFileError(f"{where}: field '{key}' must be a list of triggers")
    out = []
    for trigger in value:
        type_ = trigger.get("type", "http")
        if type_ != "http":
            raise FuncFileError(f"{where}: field '{key}.type' is {type_!r}; use http")
        name = _text(trigger.get("name"), where, f"{key}.name")
        out.append(
            {
                "name": name,
                "type": "http",
                "source": _path(trigger.get("source"), where, f"{key}.source"),
            }
        )
    return out


def _anything(value: Any, where: str, key: str) -> Any:
    return value


_FIELDS: dict[str, Callable[[Any, str, str], Any]] = {
    "name": _text,
    "version": _version,
    "runtime": _runtime,
    "entrypoint": _text,
    "cmd": _text,
    "format": _choice(FORMATS),
    "type": _choice(TYPES),
    "memory": _positive,
    "timeout": _positive,
    "idle_timeout": _positive,
    "config": _config,
    "headers": _headers,
    "path": _path,
    "triggers": _triggers,
    "schema_version": _positive,
    "annotations": _annotations,
    "network": _choice(("none", "api-only", "egress", "host")),
    **{key: _anything for key in IGNORED},
}


def _lines(text: str, where: str) -> dict[str, int]:
    """1-based line of each top-level key; duplicates are an error."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FuncFileError(f"{where}{line}: not valid YAML: {problem}") from None
    if root is None:
        raise FuncFileError(f"{where}: the file is empty")
    if not isinstance(root, yaml.MappingNode):
        raise FuncFileError(f"{where}:{root.start_mark.line + 1}: expected a map of fields")
    lines: dict[str, int] = {}
    for key_node, _ in root.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if key in lines:
            raise FuncFileError(f"{where}:{line}: field '{key}' appears twice")
        lines[key] = line
    return lines


def load(path: Path) -> FuncFile:
    """Read and check func.yaml at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FuncFileError(
            f"no {FILE_NAME} in {path.parent} (create one with `fn init`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FuncFileError(f"cannot read {path}: {exc}") from None
    lines = _lines(text, str(path))
    raw = yaml.safe_load(text)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{path}:{lines.get(str(key), 1)}"
        check = _FIELDS.get(str(key))
        if check is None:
            known = ", ".join(k for k in _FIELDS if k not in IGNORED)
            raise FuncFileError(f"{where}: unknown field '{key}' (known fields: {known})")
        values[str(key)] = check(value, where, str(key))
    for required in ("name", "runtime"):
        if required not in values:
            raise FuncFileError(f"{path}: field '{required}' is missing")
    return FuncFile(
        path=path,
        name=values["name"],
        version=values.get("version", "0.0.0"),
        runtime=values["runtime"],
        cmd=_command(values.get("entrypoint", ""), values.get("cmd", "")),
        format=values.get("format", "http-stream" if "schema_version" in values else "default"),
        type=values.get("type", "sync"),
        memory=values.get("memory"),
        timeout=values.get("timeout"),
        idle_timeout=values.get("idle_timeout"),
        config=values.get("config", {}),
        headers=values.get("headers", {}),
        route=values.get("path") or _first_source(values),
        version_line=lines.get("version"),
        schema_version=values.get("schema_version"),
        triggers=values.get("triggers", []),
        annotations={
            **values.get("annotations", {}),
            **({"network": values["network"]} if "network" in values else {}),
        },
    )


def _first_source(values: dict[str, Any]) -> str | None:
    """The seed era's route path from a trigger; today's form has its function at /name and
    its triggers beside it."""
    triggers = values.get("triggers") or []
    if "schema_version" in values or not triggers:
        return None
    return str(triggers[0]["source"])


def _command(entrypoint: str, cmd: str) -> str:
    """The command line as a container runs it: the entrypoint with cmd as its arguments."""
    return " ".join(part for part in (entrypoint, cmd) if part)


def bump(version: str) -> str:
    major, minor, patch = version.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def write_version(func: FuncFile, version: str) -> None:
    """Set `version:` in the file, changing nothing else."""
    text = func.path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if func.version_line is None:
        ending = "" if not text or text.endswith("\n") else "\n"
        func.path.write_text(f"{text}{ending}version: {version}\n", encoding="utf-8")
        return
    index = func.version_line - 1
    line = lines[index]
    newline = line[len(line.rstrip("\r\n")) :]
    match = _VERSION_LINE.match(line.rstrip("\r\n"))
    if match is None:
        lines[index] = f"version: {version}{newline}"
    else:
        head, quote, _, close, tail = match.groups()
        lines[index] = f"{head}{quote}{version}{close}{tail}{newline}"
    func.path.write_text("".join(lines), encoding="utf-8")
