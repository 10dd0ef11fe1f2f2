"""OpenFaaS's FunctionDeployment as an action, and any action as a FunctionStatus.

Sluice runs no containers: a function is the command in `envProcess` (kind `process`, the
classic watchdog; kind `http` with `envVars.mode=http`, of-watchdog's http mode), run on
this machine, optionally beside files sent as `code` (base64 of a zip, Sluice's own
field). `image` is kept verbatim for reads, never pulled. `envVars` become the process's
environment (and the watchdog's knobs: `exec_timeout`, `content_type`, `combine_output`,
`write_debug`), `annotations` the action's annotations (`com.openfaas.queue`...),
`limits.memory` its memory limit.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from sluice.engine.functions import OPENFAAS, REPLICAS, Function, as_text
from sluice.engine.policy import duration_ms
from sluice.engine.secrets import SECRETS_ANNOTATION, wanted_names
from sluice.errors import BadRequest
from sluice.numbers import storable

#: names accepted at deploy: a DNS label, as OpenFaaS's providers require
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: the annotation that keeps what the action itself has no field for; its presence makes
#: an action an OpenFaaS function, open to invoke without a key (an action of another
#: dialect becomes one with `openfaas: true`)
EXTRAS = OPENFAAS
PROCESS_KINDS = ("process", "http")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|M|G|T|k|m)?$")
_BYTES = {
    None: 1,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
}
_KEPT = ("image", "labels", "constraints", "requests", "limits")


def memory_mb(text: str) -> int:
    """A Kubernetes quantity (`128Mi`, `1Gi`, `200M`) in whole megabytes (MiB)."""
    found = _QUANTITY.match(str(text).strip())
    if found is None:
        raise BadRequest(f"Invalid memory limit '{str(text)[:40]}': use a quantity such as 128Mi.")
    value = float(found.group(1)) * _BYTES[found.group(2)] / 1024**2
    if not storable(value):
        raise BadRequest(f"Invalid memory limit '{str(text)[:40]}': use a quantity such as 128Mi.")
    return math.ceil(value)


def _strings(spec: dict[str, Any], field: str) -> dict[str, str]:
    value = spec.get(field) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"The field '{field}' must be an object of strings.")
    return {str(k): v for k, v in value.items()}


def service_name(spec: dict[str, Any]) -> str:
    name = spec.get("service")
    if not isinstance(name, str) or not name:
        raise BadRequest("The field 'service' (the function's name) is required.")
    if len(name) > 63 or not DNS_LABEL.match(name):
        raise BadRequest(
            f"Invalid function name '{name[:80]}': use lowercase letters, digits and '-'"
            " (a DNS label, at most 63 characters)."
        )
    return name


def _exec(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    command = spec.get("envProcess")
    if not isinstance(command, str) or not command.strip():
        image = spec.get("image")
        raise BadRequest(
            (
                f"Sluice cannot run the image '{image}': it runs functions without a container"
                " engine. "
                if image
                else ""
            )
            + 'Give the command to run in \'envProcess\' (for example "envProcess": "figlet").'
        )
    kind = "http" if env.get("mode") == "http" else "process"
    code = spec.get("code")
    if code is None:
        return {"kind": kind, "code": command}
    if not isinstance(code, str) or not code:
        raise BadRequest("The field 'code' must be a base64 zip of the function's files.")
    return {"kind": kind, "code": code, "main": command}


def secret_names(spec: dict[str, Any]) -> list[str]:
    """The secrets a FunctionDeployment names, checked."""
    return wanted_names(spec.get("secrets"))


def action_body(spec: dict[str, Any], memory_floor_mb: int = 0) -> dict[str, Any]:
    """The action a FunctionDeployment describes (its name is `service_name(spec)`). A
    memory limit below `memory_floor_mb` (the server's least) is raised to it: Kubernetes
    has no such floor, so a limit such as `64Mi` is taken, and the process gets the floor."""
    env = _strings(spec, "envVars")
    annotations = _strings(spec, "annotations")
    labels = _strings(spec, "labels")
    # stack.yml users set labels as often as annotations: either names the network
    if "network" in labels:
        annotations.setdefault("network", labels["network"])
    limits: dict[str, Any] = {}
    given = spec.get("limits")
    memory = given.get("memory") if isinstance(given, dict) else None
    if memory:
        limits["memory"] = max(memory_mb(memory), memory_floor_mb)
    timeout = env.get("exec_timeout") or annotations.get("com.openfaas.timeout")
    if timeout:
        limits["timeout"] = duration_ms(timeout, "exec_timeout")
    extras = {key: spec[key] for key in _KEPT if spec.get(key)}
    secrets = secret_names(spec)
    return {
        "exec": _exec(spec, env),
        "limits": limits,
        "parameters": [{"key": k, "value": v, "init": True} for k, v in env.items()],
        "annotations": [
            *({"key": k, "value": v} for k, v in annotations.items()),
            *([{"key": SECRETS_ANNOTATION, "value": secrets}] if secrets else []),
            {"key": EXTRAS, "value": extras},
        ],
    }


def is_function(function: Function) -> bool:
    """Whether the action was deployed as an OpenFaaS function, or annotated as one."""
    return function.annotation(EXTRAS, False) not in (False, None)


def _extras(function: Function) -> dict[str, Any]:
    value = function.annotation(EXTRAS)
    return value if isinstance(value, dict) else {}


def labels_of(function: Function) -> dict[str, Any]:
    """The labels a function was deployed with."""
    labels = _extras(function).get("labels")
    return labels if isinstance(labels, dict) else {}


def replicas_of(function: Function) -> int:
    """The replicas a function is scaled to (1 unless scaled)."""
    return 1 if function.replicas is None else function.replicas


def _available(replicas: int, warm: int | None) -> int:
    """Its live processes; at least 1 unless scaled to zero, since a call starts one (so
    that `faas-cli ready` and the like see a function that answers as available)."""
    if warm is None:
        return replicas
    return warm if replicas == 0 else max(warm, 1)


def function_status(
    function: Function, namespace: str, available: int | None = None
) -> dict[str, Any]:
    """OpenFaaS's FunctionStatus of any action (empty fields left out, as upstream);
    `available`: its live processes, when known."""
    replicas = replicas_of(function)
    extras = _extras(function)
    hidden = (EXTRAS, SECRETS_ANNOTATION, REPLICAS)
    annotations = {k: as_text(v) for k, v in function.annotations.items() if k not in hidden}
    secrets = function.annotation(SECRETS_ANNOTATION)
    status: dict[str, Any] = {
        "name": function.name,
        "image": extras.get("image") or f"sluice/{function.kind}",
        "namespace": namespace,
        "envVars": dict(function.init_env),
        "labels": extras.get("labels"),
        "annotations": annotations,
        "secrets": secrets if isinstance(secrets, list) else None,
        "constraints": extras.get("constraints"),
        "requests": extras.get("requests"),
        # the quantity as it was given (`128M`), else the action's own limit
        "limits": {"memory": f"{function.memory_mb}Mi", **(extras.get("limits") or {})},
        "replicas": replicas,
        "availableReplicas": _available(replicas, available),
        "createdAt": datetime.fromtimestamp(function.updated / 1000, UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
    }
    if function.kind in PROCESS_KINDS:
        status["envProcess"] = function.main if function.binary else function.code
    return {k: v for k, v in status.items() if v not in (None, {}, [], "", 0)}
