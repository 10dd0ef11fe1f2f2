"""A throwaway certificate authority for a test, made with the openssl CLI by the same
commands docs/scaling-out.md gives for a deployment's own CA."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Authority:
    """`ca.crt` and `ca.key` in `folder`, and the certificates issued there."""

    folder: Path

    @property
    def cert(self) -> Path:
        return self.folder / "ca.crt"

    @classmethod
    def create(cls, folder: Path, name: str = "Sluice test CA") -> Authority:
        if shutil.which("openssl") is None:
            pytest.skip("the openssl CLI is not installed (apt-get install openssl)")
        folder.mkdir(parents=True, exist_ok=True)
        # as docs/scaling-out.md: an EC key, basic constraints and key usage marked (Python 3.13's
        # strict verification wants both)
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", "ca.key", "-out", "ca.crt",
            cwd=folder,
        )  # fmt: skip
        return cls(folder)

    def issue(self, name: str, hosts: list[str], usage: str = "serverAuth") -> Issued:
        """A certificate for `hosts` (names or IP addresses), for a server or, with
        usage="clientAuth", a client."""
        alt = ",".join(f"IP:{h}" if h[0].isdigit() or ":" in h else f"DNS:{h}" for h in hosts)
        _openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", f"/CN={hosts[0] if hosts else name}",
            "-addext", f"subjectAltName={alt}" if alt else "basicConstraints=CA:FALSE",
            "-addext", f"extendedKeyUsage={usage}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr",
            cwd=self.folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-copy_extensions", "copy",
            "-out", f"{name}.crt",
            cwd=self.folder,
        )  # fmt: skip
        return Issued(self.folder / f"{name}.crt", self.folder / f"{name}.key")
