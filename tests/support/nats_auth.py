"""nats-server config files with TLS and authentication, as docs/scaling-out.md's: users (password,
NKey) in an account with JetStream enabled, a token, or NATS's JWT auth (an operator, an
account and a user, the user's .creds file) with JWTs signed here by NKeys."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nkeys

from tests.support.tls import Issued

Config = Callable[[int, Path], str]

#: a password that needs URL-quoting
PASSWORD = "pässword with spaces:@/"
TOKEN = "a-token-of-this-test"


def new_nkey(prefix: int = nkeys.PREFIX_BYTE_USER) -> tuple[str, str]:
    """A new NKey: its seed and its public key."""
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return seed.decode(), nkeys.from_seed(bytearray(seed)).public_key.decode()


def _head(port: int, store: Path, cert: Issued, client_ca: Path | None = None) -> str:
    """Where it listens, JetStream on, and TLS (verifying clients' certificates by `client_ca`)."""
    verify = f'\n  ca_file: "{client_ca}"\n  verify: true' if client_ca else ""
    return (
        f"listen: 127.0.0.1:{port}\n"
        f'jetstream {{\n  store_dir: "{store}"\n}}\n'
        f'tls {{\n  cert_file: "{cert.cert}"\n  key_file: "{cert.key}"{verify}\n}}\n'
    )


def accounts_config(
    cert: Issued,
    password: str,
    nkey: str,
    client_ca: Path | None = None,
    jetstream: bool = True,
) -> Config:
    """User `sluice` with a password, and a user known by its NKey, in account SLUICE
    (with JetStream enabled for it, unless told)."""

    def text(port: int, store: Path) -> str:
        return (
            _head(port, store, cert, client_ca)
            + "accounts {\n  SLUICE {\n"
            + ("    jetstream: enabled\n" if jetstream else "")
            + "    users: [\n"
            + f"      {{ user: sluice, password: {json.dumps(password, ensure_ascii=False)} }}\n"
            + f"      {{ nkey: {nkey} }}\n"
            + "    ]\n  }\n}\n"
        )

    return text


def token_config(cert: Issued, token: str) -> Config:
    def text(port: int, store: Path) -> str:
        return (
            _head(port, store, cert)
            + f"authorization {{\n  token: {json.dumps(token, ensure_ascii=False)}\n}}\n"
        )

    return text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(issuer_seed: str, subject: str, name: str, nats: dict[str, object]) -> str:
    """A JWT as nsc makes them: ed25519-nkey, signed by the issuer's NKey."""
    issuer = nkeys.from_seed(bytearray(issuer_seed.encode()))
    claims: dict[str, object] = {
        "iat": int(time.time()),
        "iss": issuer.public_key.decode(),
        "name": name,
        "sub": subject,
        "nats": {**nats, "version": 2},
    }
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = issuer.sign(f"{header}.{payload}".encode())
    return f"{header}.{payload}.{_b64(signature)}"


_UNLIMITED = {
    "subs": -1,
    "data": -1,
    "payload": -1,
    "imports": -1,
    "exports": -1,
    "wildcards": True,
    "conn": -1,
    "leaf": -1,
}


@dataclass(frozen=True)
class Operator:
    """NATS's JWT auth: an operator, a system account, account SLUICE with JetStream, and
    one user of it, whose .creds file is written to `creds`."""

    creds: Path
    jwt: str
    accounts: dict[str, str]
    system: str

    @classmethod
    def create(cls, folder: Path) -> Operator:
        operator_seed, operator = new_nkey(nkeys.PREFIX_BYTE_OPERATOR)
        _, system = new_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
        account_seed, account = new_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
        user_seed, user = new_nkey()
        jetstream = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}
        accounts = {
            system: _jwt(operator_seed, system, "SYS", {"type": "account", "limits": _UNLIMITED}),
            account: _jwt(
                operator_seed,
                account,
                "SLUICE",
                {"type": "account", "limits": {**_UNLIMITED, **jetstream}},
            ),
        }
        user_jwt = _jwt(
            account_seed,
            user,
            "sluice",
            {"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1},
        )
        creds = folder / "sluice.creds"
        creds.write_text(
            f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
            f"-----BEGIN USER NKEY SEED-----\n{user_seed}\n------END USER NKEY SEED------\n"
        )
        creds.chmod(0o600)
        operator_jwt = _jwt(operator_seed, operator, "test", {"type": "operator"})
        return cls(creds, operator_jwt, accounts, system)

    def config(self, cert: Issued) -> Config:
        preload = "".join(f'  {key}: "{jwt}"\n' for key, jwt in self.accounts.items())

        def text(port: int, store: Path) -> str:
            return (
                _head(port, store, cert)
                + f'operator: "{self.jwt}"\n'
                + f"system_account: {self.system}\n"
                + "resolver: MEMORY\n"
                + f"resolver_preload: {{\n{preload}}}\n"
            )

        return text
