"""A PostgreSQL cluster of a test's own (initdb in a temporary directory, run as the
`postgres` user), for tests that stop and start the database under a running Sluice."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.support.server import free_port
from tests.support.tls import Issued


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def private_postgres_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "a private PostgreSQL runs as the postgres user: the test needs root"
    if _bin_dir() is None:
        return "PostgreSQL's server programs are not installed"
    return None


#: the pg_hba.conf of a TLS-only server, as docs/scaling-out.md has it: the admin over the unix
#: socket, Sluice's user only over TLS with its password (other connections match no line)
TLS_HBA = """\
local   all      postgres                 trust
hostssl sluice   sluice    127.0.0.1/32   scram-sha-256
"""


class PrivatePostgres:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        assert bin_dir is not None
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="sluice-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        #: the server's certificate when it runs with ssl = on (`init_tls`)
        self.tls: Issued | None = None

    @property
    def url(self) -> str:
        if self.tls is not None:  # TCP is TLS-only: the admin comes over the unix socket
            return f"postgresql://postgres@/postgres?host={self.root}&port={self.port}"
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init_tls(self, server: Issued, password: str) -> PrivatePostgres:
        """A cluster with `ssl = on` and the server's certificate (in a conf.d file, as in
        scaling-out.md), TLS_HBA, and a database `sluice` owned by user `sluice` (`password`)."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        for source, name in ((server.cert, "server.crt"), (server.key, "server.key")):
            target = self.data / name  # the key must be the server user's, mode 0600
            shutil.copy(source, target)
            shutil.chown(target, "postgres", "postgres")
            target.chmod(0o600)
        conf_d = self.data / "conf.d"
        conf_d.mkdir()
        (conf_d / "ssl.conf").write_text(
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("include_dir = 'conf.d'\n")
        (self.data / "pg_hba.conf").write_text(TLS_HBA)
        self.tls = server
        self.start()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE USER sluice PASSWORD '{password}'")
            conn.execute("CREATE DATABASE sluice OWNER sluice")
        return self

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / program), *args],
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def init(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        return self.start()

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)
