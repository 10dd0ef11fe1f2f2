"""How Sluice reaches NATS: credentials (user and password or a token in the URL, a .creds
file, an NKey seed file), TLS (the server verified against a CA file, a client certificate
when it asks for one), and what is told when it cannot connect.

At start, a server that refuses the credentials or fails TLS verification stops Sluice with
one line (a setting is wrong: waiting would not help); an unreachable one is waited for, as
a service started before NATS would. Once running, every problem is a warning line and the
client keeps reconnecting: a NATS restart pauses Sluice, not ends it. Credentials never
appear in what is logged: URLs are shown with them masked."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import nkeys
from nats.aio.client import Client
from nats.errors import AuthorizationError, SecureConnWantedError
from nats.errors import Error as NatsError

from sluice.errors import CannotStart

log = logging.getLogger("sluice.nats")

_CREDS_JWT = re.compile(r"-----BEGIN NATS USER JWT-----\s*(\S+)")
_CREDS_SEED = re.compile(r"-----BEGIN USER NKEY SEED-----\s*(\S+)")
#: what nats-server says when it refuses a client's credentials or account
_REFUSED = ("authorization violation", "authentication", "account")
#: how long letting go of a refused connection may take
_CLOSE_WAIT_S = 1.0


def redacted(url: str) -> str:
    """The URL with its password or token masked, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"  # a lone name is a token
    return urlunsplit(parts._replace(netloc=f"{shown}@{hostport}"))


@dataclass(frozen=True)
class NatsTarget:
    """A NATS server and how to authenticate to it and verify it."""

    #: the server's URL without credentials
    url: str
    #: the URL as messages show it
    shown: str
    user: str | None = None
    password: str | None = None
    token: str | None = None
    creds: Path | None = None
    nkey_seed: Path | None = None
    tls: ssl.SSLContext | None = None

    @classmethod
    def parse(
        cls,
        url: str,
        creds: Path | None = None,
        nkey_seed: Path | None = None,
        tls_ca: Path | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
    ) -> NatsTarget:
        """Credentials in the URL are percent-decoded (nats-py would send them as written);
        TLS is on with a tls:// URL or any TLS file."""
        parts = urlsplit(url)
        user = password = token = None
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, netloc = netloc.rpartition("@")
            name, colon, secret = userinfo.partition(":")
            if colon:
                user, password = unquote(name), unquote(secret)
            else:
                token = unquote(name)
        wants_tls = parts.scheme == "tls" or any((tls_ca, tls_cert, tls_key))
        return cls(
            url=urlunsplit(parts._replace(netloc=netloc)),
            shown=redacted(url),
            user=user,
            password=password,
            token=token,
            creds=creds,
            nkey_seed=nkey_seed,
            tls=tls_context(tls_ca, tls_cert, tls_key) if wants_tls else None,
        )

    def options(self) -> dict[str, Any]:
        """nats-py's connect arguments for these credentials and TLS."""
        options: dict[str, Any] = {
            "user": self.user,
            "password": self.password,
            "token": self.token,
            "tls": self.tls,
        }
        if self.creds is not None:
            options["user_credentials"] = str(self.creds)
        elif self.nkey_seed is not None:
            options["nkeys_seed"] = str(self.nkey_seed)
        return {key: value for key, value in options.items() if value is not None}

    def describe(self) -> str:
        """How the connection is secured, for the start-up log."""
        auth = (
            "a .creds file"
            if self.creds
            else "an NKey"
            if self.nkey_seed
            else f"user {self.user}"
            if self.user
            else "a token"
            if self.token
            else "no credentials"
        )
        return f"{'TLS' if self.tls else 'no TLS'}, {auth}"

    def on_loopback(self) -> bool:
        host = urlsplit(self.url).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def tls_context(ca: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    """A context that verifies the server's certificate and name: against `ca` when given,
    else the system's CAs; with a client certificate when `cert` and `key` are given."""
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if cert is not None or key is not None:
            if cert is None or key is None:
                raise CannotStart(
                    "SLUICE_NATS_TLS_CERT and SLUICE_NATS_TLS_KEY go together: set both or neither"
                )
            context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise CannotStart(f"cannot load the TLS files for NATS: {_one_line(exc)}") from exc
    return context


def check_key_files(target: NatsTarget) -> None:
    """Read the .creds or seed file now: nats-py reads them inside its connect loop, where
    a missing or malformed one would look like an unreachable server, or end in a traceback."""
    path = target.creds or target.nkey_seed
    if path is None:
        return
    what = ".creds file" if target.creds else "NKey seed file"
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CannotStart(f"cannot read the NATS {what} {path}: {_one_line(exc)}") from exc
    seed = text.strip()
    if target.creds is not None:
        found = _CREDS_SEED.search(text)
        if _CREDS_JWT.search(text) is None or found is None:
            raise CannotStart(f"the NATS .creds file {path} has no user JWT and NKey seed")
        seed = found[1]
    try:
        nkeys.from_seed(bytearray(seed.encode())).wipe()
    except (nkeys.NkeysError, ValueError) as exc:
        raise CannotStart(f"the NATS {what} {path} holds no valid NKey seed") from exc


class NatsClient(Client):
    """nats-py upgrades a connection to TLS only when the server's INFO asks for it: a server
    (or a man in the middle) that does not would get the credentials and every call in clear.
    When TLS is wanted, such a connection is dropped before CONNECT is sent."""

    tls_wanted = False

    async def _process_info(self, info: dict[str, Any], initial_connection: bool = False) -> None:
        if initial_connection and self.tls_wanted and not info.get("tls_required"):
            raise SecureConnWantedError
        await super()._process_info(info, initial_connection)


def refusal(exc: BaseException) -> str | None:
    """Why the server refused this client for good (credentials, TLS), or None when trying
    again may help (unreachable, restarting)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS verification of the server failed ({exc.verify_message}):"
            " is SLUICE_NATS_TLS_CA the CA that signed its certificate, for this host name?"
        )
    if isinstance(exc, SecureConnWantedError):
        return "TLS is asked for (a tls:// URL or SLUICE_NATS_TLS_*) but the server offers none"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or _one_line(exc)}"
    if isinstance(exc, AuthorizationError) or (
        isinstance(exc, NatsError) and any(word in str(exc).lower() for word in _REFUSED)
    ):
        said = _one_line(exc).removeprefix("nats: ").strip("'")
        return f"the server refused the credentials ({said})"
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class _Reporter:
    """nats-py's error callback (`report`): a refusal at start stops the start; anything else is one
    warning line, not repeated while it stays the same (nats-py retries each second)."""

    def __init__(self, target: NatsTarget) -> None:
        self.target = target
        self.starting = True
        self.last = ""

    async def report(self, exc: Exception) -> None:
        why = refusal(exc)
        if why is not None and self.starting:
            raise CannotStart(f"NATS at {self.target.shown}: {why}")
        line = why or _one_line(exc)
        if line != self.last:
            self.last = line
            waiting = " (waiting for it)" if self.starting else ""
            log.warning("NATS at %s: %s%s", self.target.shown, line, waiting)

    async def reconnected(self) -> None:
        self.last = ""
        log.info("NATS at %s: connected again", self.target.shown)


async def connect(
    target: NatsTarget | str,
    name: str,
    nc: Client | None = None,
    reconnected: Callable[[], Awaitable[None]] | None = None,
) -> Client:
    """A connection that keeps reconnecting once made; CannotStart when refused at start."""
    if isinstance(target, str):
        target = NatsTarget.parse(target)
    check_key_files(target)
    nc = nc or NatsClient()
    if isinstance(nc, NatsClient):
        nc.tls_wanted = target.tls is not None
    reporter = _Reporter(target)

    async def on_reconnect() -> None:
        await reporter.reconnected()
        if reconnected is not None:
            await reconnected()

    try:
        await nc.connect(
            target.url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            reconnected_cb=on_reconnect,
            error_cb=reporter.report,
            **target.options(),
        )
    except BaseException:
        # nats-py's close fails on a never-opened client, and waits for ever on a socket
        # whose TLS handshake failed
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), _CLOSE_WAIT_S)
        raise
    reporter.starting = False
    log.info("NATS at %s: connected (%s)", target.shown, target.describe())
    if target.tls is None and not target.on_loopback():
        log.warning(
            "NATS at %s: no TLS: calls and credentials cross the network in clear"
            " (a tls:// URL or SLUICE_NATS_TLS_CA turns it on)",
            target.shown,
        )
    return nc
