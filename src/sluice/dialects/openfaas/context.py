"""What every OpenFaaS handler starts with: the namespace its functions live in, the
caller checked against it when that is required, and the function a URL names."""

from __future__ import annotations

import re

from starlette.requests import Request

from sluice.dialects.openwhisk.context import engine
from sluice.errors import BadRequest, Forbidden
from sluice.http.auth import authenticate, credentials

#: the gateway's route pattern for a function name; `name.namespace` names a namespace
_NAME = re.compile(r"^[-a-zA-Z_0-9.]+$")


async def faas_namespace(request: Request, system: bool = False) -> str:
    """The OpenFaaS namespace; its key is required for /system routes, and for invoking
    when SLUICE_OPENFAAS_AUTH is set."""
    sluice = engine(request)
    namespace = sluice.settings.openfaas_namespace
    if system or sluice.settings.openfaas_auth:
        caller = await authenticate(request, sluice.namespaces)
        if caller.name != namespace:
            raise Forbidden(f"OpenFaaS functions live in the namespace '{namespace}': use its key.")
    return namespace


async def shown_to_owner(request: Request, namespace: str) -> bool:
    """Whether the caller holds the namespace's key, so that what only its owner may see (a
    call's callback: where it goes and how that went) is shown. Without credentials: no;
    with wrong ones or another namespace's, 401 / 403 as on /system."""
    sluice = engine(request)
    if sluice.settings.openfaas_auth:
        return True  # faas_namespace checked the key already
    if credentials(request) is None:
        return False
    caller = await authenticate(request, sluice.namespaces)
    if caller.name != namespace:
        raise Forbidden(f"OpenFaaS functions live in the namespace '{namespace}': use its key.")
    return True


def function_name(text: str, namespace: str) -> str:
    """The action a URL's function name refers to: `name` or `name.<namespace>`."""
    if not _NAME.match(text):
        raise BadRequest(f"Invalid function name: '{text[:80]}'.")
    name, dot, suffix = text.rpartition(".")
    return name if dot and name and suffix == namespace else text
