"""What the name of a function's kind says about it, for the layers that never run one: its
family, whether it serves HTTP, how many calls a process takes. The runtime's own table of
kinds, with their interpreters and launchers, is runtime/kinds.py."""

from __future__ import annotations

from enum import StrEnum


class Family(StrEnum):
    NODEJS = "nodejs"
    PYTHON = "python"
    BLACKBOX = "blackbox"
    #: Fn's function formats (runtime/fn.py)
    FN = "fn"
    #: OpenFaaS's classic watchdog: a command per call, stdin to stdout (runtime/process_fn.py)
    PROCESS = "process"
    #: of-watchdog's http mode: a warm HTTP server per function (runtime/http_fn.py)
    HTTP = "http"
    #: OpenWhisk's actionloop protocol: compiled Go, and configured interpreter + runner kinds
    ACTIONLOOP = "actionloop"


#: kind-name prefixes of the families Sluice has a runner of its own for
FAMILIES = {
    "nodejs": Family.NODEJS,
    "python": Family.PYTHON,
    "blackbox": Family.BLACKBOX,
    "fn": Family.FN,
    "process": Family.PROCESS,
    "http": Family.HTTP,
}
#: the built-in kinds named without a version (runtime/kinds.py's names and aliases): every
#: family's but Fn's, whose kinds are `fn:<format>`
_BARE = frozenset(FAMILIES) - {"fn"}


def family_of(kind: str) -> Family | None:
    """The family of a kind named `kind`, whether or not it is installed here."""
    prefix, colon, _ = kind.partition(":")
    return FAMILIES.get(prefix) if colon or kind in _BARE else None


def serves_http(kind: str) -> bool:
    """Whether functions of the kind named `kind` take an HTTP request and give a response
    (the call's parameters and result are sluice/envelope.py's)."""
    return family_of(kind) in (Family.FN, Family.PROCESS, Family.HTTP)


def calls_per_process(kind: str, concurrency: int) -> int:
    """How many calls of a function of kind `kind` with limits.concurrency `concurrency` one
    process runs at once."""
    return max(1, concurrency) if family_of(kind) is Family.NODEJS else 1
