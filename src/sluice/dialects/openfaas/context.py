"""What every OpenFaaS handler starts with: the namespace its functions live in, the
caller checked against it when that is required, and the function a URL names.

Invoking is open, as OpenFaaS's gateway, but only for OpenFaaS functions: actions deployed
through /system/functions, or annotated `openfaas`. Any other action of the namespace, and
every read or cancel of a call, /system/* and (with SLUICE_OPENFAAS_AUTH) everything but
/healthz, needs the namespace's key."""

from __future__ import annotations

import re

from starlette.requests import Request

from sluice.dialects.openfaas.deployment import is_function
from sluice.engine.resolve import Target
from sluice.errors import Forbidden, NotFound
from sluice.http.auth import authenticate
from sluice.http.context import engine

#: the gateway's route pattern for a function name; `name.namespace` names a namespace
_NAME = re.compile(r"^[-a-zA-Z_0-9.]+$")


async def owner_namespace(request: Request) -> str:
    """The OpenFaaS namespace, once the caller's key is shown to be its key."""
    sluice = engine(request)
    namespace = sluice.settings.openfaas_namespace
    caller = await authenticate(request, sluice.namespaces)
    if caller.name != namespace:
        raise Forbidden(f"OpenFaaS functions live in the namespace '{namespace}': use its key.")
    return namespace


def open_to_all(request: Request, target: Target) -> bool:
    """Whether `target` may be invoked without a key: an OpenFaaS function, unless
    SLUICE_OPENFAAS_AUTH closes them all."""
    return not engine(request).settings.openfaas_auth and is_function(target.function)


def function_name(text: str, namespace: str) -> str:
    """The action a URL's function name refers to: `name` or `name.<namespace>`."""
    if not _NAME.match(text):
        # no route of the gateway matches such a name: its router answers 404
        raise NotFound(f"Invalid function name: '{text[:80]}'.")
    name, dot, suffix = text.rpartition(".")
    return name if dot and name and suffix == namespace else text
