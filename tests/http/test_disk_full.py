"""A full data disk: new calls are refused with 503 in each dialect's shape, saying what to
do, and taken again by themselves once there is room. Needs root (a tmpfs of a few MB as the
data dir's disk)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.dialects.openfaas.helpers import OPENFAAS_ANNOTATION
from tests.support.server import SluiceServer, put_action

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small disk needs root")
FULL = "The server's disk is full"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@contextlib.contextmanager
def filled(disk: Path) -> Iterator[None]:
    stat = os.statvfs(disk)
    filler = disk / "filler"
    with filler.open("wb") as f, contextlib.suppress(OSError):
        f.write(b"x" * (stat.f_bavail * stat.f_frsize))
    try:
        yield
    finally:
        filler.unlink()


def test_a_full_data_disk_answers_503_and_recovers(small_disk: Path, tmp_path: Path) -> None:
    # the data dir on the small disk, the log beside it
    server = SluiceServer(tmp_path / "srv", extra_env={"SLUICE_DATA_DIR": str(small_disk)})
    server.start()
    try:
        with server.client() as client:
            assert put_action(client, "n", "exports.main = () => ({ok: 1});").status_code == 200
            annotated = put_action(
                client, "faas", "exports.main = () => ({ok: 1});", annotations=[OPENFAAS_ANNOTATION]
            )
            assert annotated.status_code == 200, annotated.text
            big = {"pad": "y" * 300_000}
            with filled(small_disk):
                whisk = client.post(server.ns_path("actions/n"), json=big)
                assert whisk.status_code == 503, whisk.text
                assert whisk.json()["error"].startswith(FULL)
                assert "free space" in whisk.json()["error"]
                faas = client.post("/async-function/faas", content=b"z" * 300_000)
                assert faas.status_code == 503, faas.text
                assert faas.text.startswith(FULL)
            after = client.post(server.ns_path("actions/n"), params={"blocking": "true"}, json={})
            assert after.status_code == 200, after.text
            assert after.json()["response"]["result"] == {"ok": 1}
    finally:
        server.close()
