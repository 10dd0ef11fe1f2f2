"""Which action a caller's name refers to: its own, one in a package (through bindings), or
one in a package another namespace published."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sluice.engine.actions import ACTIONS
from sluice.engine.functions import Function, function_of
from sluice.engine.names import parse_path
from sluice.engine.packages import Packages
from sluice.errors import Forbidden, NotFound
from sluice.records import Entity
from sluice.store.base import Store


@dataclass(frozen=True, slots=True)
class Target:
    #: the namespace that owns the action's code
    owner: str
    action: Entity
    #: package (and binding) parameters, laid under the action's own
    package_params: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.action.name

    #: the action's view (engine/functions.py), looked up once for the many reads of a call
    function: Function = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "function", function_of(self.action))


async def resolve_action(
    store: Store, packages: Packages, caller: str, namespace: str, path: str
) -> Target:
    where = parse_path(namespace, path)
    if where.package is None:
        if namespace != caller:
            raise Forbidden()
        action = await store.get_entity(namespace, ACTIONS, where.name)
        if action is None:
            raise NotFound()
        return Target(namespace, action)
    package = await packages.resolve(caller, namespace, where.package)
    action = await store.get_entity(package.namespace, ACTIONS, f"{package.name}/{where.name}")
    if action is None:
        raise NotFound()
    return Target(package.namespace, action, package.parameters)
