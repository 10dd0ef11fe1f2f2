"""A Go module proxy in a directory (GOPROXY=file://...), for builds of modules that cannot be
downloaded here: the test publishes a module of its own under the path and version a go.mod
requires, in the layout of Go's module proxy protocol (list, .info, .mod, and a .zip of
`path@version/` files)."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import SluiceServer


@contextmanager
def goproxy_dir() -> Iterator[Path]:
    """An empty proxy directory that builds can read: they run as the functions' user, and
    pytest's own directories are its user's alone."""
    with tempfile.TemporaryDirectory(prefix="goproxy-") as where:
        os.chmod(where, 0o755)
        yield Path(where)


def publish(root: Path, module: str, version: str, files: dict[str, str]) -> None:
    """Serve `files` (go.mod among them) as `module`@`version` from proxy `root`."""
    versions = root / module / "@v"
    versions.mkdir(parents=True, exist_ok=True)
    with (versions / "list").open("a") as listing:
        listing.write(f"{version}\n")
    info = {"Version": version, "Time": "2024-01-01T00:00:00Z"}
    (versions / f"{version}.info").write_text(json.dumps(info))
    (versions / f"{version}.mod").write_text(files["go.mod"])
    with zipfile.ZipFile(versions / f"{version}.zip", "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{module}@{version}/{name}", text)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@contextmanager
def goproxy_server(
    root: Path, module: str, version: str, files: dict[str, str]
) -> Iterator[SluiceServer]:
    """A running server (data in `root`) whose Go builds take modules from a proxy serving
    `files` as `module`@`version` (and nothing else: no checksum database)."""
    with goproxy_dir() as proxy:
        publish(proxy, module, version, files)
        env = {"SLUICE_GOPROXY": f"file://{proxy}", "GOSUMDB": "off"}
        instance = SluiceServer(root, extra_env=env)
        try:
            yield instance.start()
        finally:
            instance.close()
