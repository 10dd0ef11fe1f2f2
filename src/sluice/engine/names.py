"""OpenWhisk's entity name rules, and the `[/namespace/][package/]name` forms clients send."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sluice.errors import BadRequest

# Upstream EntityName: word characters, then word characters, @ . - and spaces, ending without a
# space; at most 256 characters.
_NAME = re.compile(r"^(?:\w|\w[\w@ .-]*[\w@.-])$")
MAX_NAME = 256


def check_name(name: str, what: str = "name") -> str:
    if not name or len(name) > MAX_NAME or not _NAME.match(name):
        raise BadRequest(
            f"The {what} '{name[:MAX_NAME]}' is not valid: names are 1 to {MAX_NAME} characters,"
            " letters, digits, underscores, @, dots, dashes and inner spaces, starting with a"
            " letter, digit or underscore."
        )
    return name


@dataclass(frozen=True, slots=True)
class EntityPath:
    """An entity's place: its namespace, and `package/name` or `name` inside it."""

    namespace: str
    name: str
    package: str | None = None

    @property
    def path(self) -> str:
        return f"{self.package}/{self.name}" if self.package else self.name

    @property
    def qualified(self) -> str:
        return f"{self.namespace}/{self.path}"


def parse_path(namespace: str, path: str) -> EntityPath:
    """`name` or `package/name` below `namespace` (both checked against the name rules)."""
    parts = path.split("/")
    if len(parts) == 1:
        return EntityPath(namespace, check_name(parts[0]))
    if len(parts) == 2:
        return EntityPath(namespace, check_name(parts[1]), check_name(parts[0], "package name"))
    raise BadRequest(f"The name '{path[:MAX_NAME]}' has too many parts.")


def parse_reference(default_namespace: str, ref: str) -> EntityPath:
    """`/ns/name`, `/ns/pkg/name`, `pkg/name` or `name`, as rules and clients name entities."""
    if ref.startswith("/"):
        parts = ref[1:].split("/")
        if len(parts) < 2:
            raise BadRequest(f"The name '{ref[:MAX_NAME]}' is not fully qualified.")
        namespace = default_namespace if parts[0] == "_" else check_name(parts[0], "namespace")
        return parse_path(namespace, "/".join(parts[1:]))
    return parse_path(default_namespace, ref)
