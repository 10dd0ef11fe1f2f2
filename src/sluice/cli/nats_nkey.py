"""`sluice nats-nkey FILE`: a new NKey for Sluice's NATS user (SLUICE_NATS_NKEY_SEED)."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("nats-nkey")
@click.argument("seed_file", type=click.Path(path_type=Path, dir_okay=False))
def nats_nkey(seed_file: Path) -> None:
    """Write a new NKey user seed to SEED_FILE (mode 0600) and print its public key, for
    nats-server's config: users: [{ nkey: U... }]."""
    import nkeys

    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    try:
        # O_EXCL: an existing seed is never overwritten (its user would be locked out)
        fd = os.open(seed_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise click.ClickException(f"cannot create {seed_file}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(seed + b"\n")
    click.echo(nkeys.from_seed(bytearray(seed)).public_key.decode())
