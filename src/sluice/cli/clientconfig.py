"""Where the `sluice` client finds its server: API host, key and namespace.

Each setting is resolved on its own, first found wins: the command-line option, `SLUICE_*`,
`AIO_RUNTIME_*`, then the client config file (wskprops format) that `sluice serve` writes on
first start.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sluice.paths import default_client_config

DEFAULT_APIHOST = "http://127.0.0.1:3233"
#: OpenWhisk's name for "the namespace of the key in use"
CALLER_NAMESPACE = "_"
_LOOPBACK = ("localhost", "127.", "[::1]")


class ConfigError(Exception):
    """The client cannot be configured (no key, unreadable config file)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ClientConfig:
    apihost: str
    auth: str
    namespace: str


def client_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """`SLUICE_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/sluice/wskprops`."""
    env = os.environ if environ is None else environ
    explicit = env.get("SLUICE_CLIENT_CONFIG")
    return Path(explicit).expanduser() if explicit else default_client_config()


def read_wskprops(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines; blank lines and `#` comments are skipped; a missing file is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the client config {path}: {exc.strerror}") from exc
    props: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        props[key.strip().upper()] = value.strip()
    return props


def normalize_apihost(host: str) -> str:
    """No trailing slash; a host without a scheme gets http:// (loopback) or https://."""
    host = host.strip().rstrip("/")
    if "://" in host:
        return host
    scheme = "http" if host.startswith(_LOOPBACK) else "https"
    return f"{scheme}://{host}"


def _first(*candidates: str | None) -> str | None:
    return next((c for c in candidates if c), None)


def load_client_config(
    apihost: str | None,
    auth: str | None,
    namespace: str | None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Options > `SLUICE_*` > `AIO_RUNTIME_*` > the client config file, per setting."""
    env = os.environ if environ is None else environ
    path = client_config_path(env)
    props = read_wskprops(path)

    def pick(option: str | None, name: str) -> str | None:
        return _first(
            option, env.get(f"SLUICE_{name}"), env.get(f"AIO_RUNTIME_{name}"), props.get(name)
        )

    key = pick(auth, "AUTH")
    if not key:
        raise ConfigError(
            f"no API key: none in --auth, SLUICE_AUTH, AIO_RUNTIME_AUTH or {path}. "
            "Start `sluice serve` once (it writes that file) or set SLUICE_AUTH=uuid:key"
        )
    return ClientConfig(
        apihost=normalize_apihost(pick(apihost, "APIHOST") or DEFAULT_APIHOST),
        auth=key,
        namespace=pick(namespace, "NAMESPACE") or CALLER_NAMESPACE,
    )


def write_client_config(path: Path | str, apihost: str, auth: str, namespace: str) -> None:
    """Write a wskprops file atomically, mode 0600, in a directory made 0700 if new."""
    target = Path(path).expanduser()
    parent = target.parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(parent, 0o700)
    text = f"APIHOST={apihost}\nAUTH={auth}\nNAMESPACE={namespace}\n"
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
