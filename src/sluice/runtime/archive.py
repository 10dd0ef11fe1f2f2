"""Zip actions: unpack base64 zip code into a process's directory."""

from __future__ import annotations

import base64
import binascii
import io
import os
import stat
import zipfile
import zlib
from pathlib import Path


class ArchiveError(Exception):
    """The code is not a usable zip archive; the message is shown to the developer."""


def unpack(code: str, dest: Path, max_bytes: int) -> Path:
    """Unpack base64 zip `code` into `dest` (created), keeping files' permission bits."""
    try:
        data = base64.b64decode(code, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ArchiveError(f"the code is not valid base64: {exc}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"the code is not a zip archive: {exc}") from None
    with archive:
        members = archive.infolist()
        if sum(info.file_size for info in members) > max_bytes:
            raise ArchiveError(f"the zip archive unpacks to more than {max_bytes} bytes")
        dest.mkdir(parents=True, exist_ok=True)
        try:
            for info in members:
                _extract(archive, info, dest)
            _own_like_parent(dest)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
            raise ArchiveError(f"the zip archive cannot be unpacked: {exc}") from None
    return dest


def _own_like_parent(dest: Path) -> None:
    """A root server unpacks into a directory it gave to the function's own uid: the files
    become that uid's too, or one the zip marks owner-only (0600, as Python's zipfile and
    many build tools write them) could not be read by the function it belongs to."""
    if os.geteuid() != 0:
        return
    owner = dest.parent.stat()
    if owner.st_uid == 0:
        return
    for parent, dirs, files in os.walk(dest):
        os.lchown(parent, owner.st_uid, owner.st_gid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(parent, name), owner.st_uid, owner.st_gid)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    # extract() drops absolute paths and ".." parts, so nothing lands outside dest
    target = Path(archive.extract(info, dest))
    mode = info.external_attr >> 16
    if mode & 0o777 and not info.is_dir() and not stat.S_ISLNK(mode):
        # as the zip says: an owner-only file is the function's own (_own_like_parent)
        os.chmod(target, mode & 0o777)
