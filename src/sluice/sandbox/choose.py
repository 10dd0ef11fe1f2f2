"""Which sandbox function processes get on this machine, said once in the start-up log.

bubblewrap where it can make namespaces; where it cannot (an AppArmor rule against
unprivileged user namespaces, a container's seccomp profile), Landlock with seccomp,
rlimits and, under root, control groups; with neither, Sluice refuses to start unless the
operator sets SLUICE_SANDBOX=none.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from ipaddress import IPv4Network
from pathlib import Path

from sluice.sandbox import landlock
from sluice.sandbox.base import Network, Sandbox
from sluice.sandbox.bwrap import DEFAULT_UID, BwrapSandbox, Identity, Limits, bwrap_works
from sluice.sandbox.cgroups import Cgroups
from sluice.sandbox.egress import Egress
from sluice.sandbox.landlock import LandlockSandbox
from sluice.sandbox.rlimits import RlimitSandbox

log = logging.getLogger("sluice.sandbox")


class SandboxUnavailable(RuntimeError):
    """The sandbox asked for cannot be made on this machine."""


def choose_sandbox(
    mode: str,
    hidden: Sequence[Path],
    visible: Sequence[Path],
    *,
    network: Network = Network.EGRESS,
    api: tuple[str, int] | None = None,
    limits: Limits | None = None,
    uid: int | None = None,
    egress_allow: Sequence[IPv4Network] = (),
    bwrap: str = "bwrap",
) -> Sandbox:
    """`auto` (bubblewrap, else Landlock), `bwrap` or `landlock` (that one, which must
    work), or `none` (environment and limits only; never for code you do not trust)."""
    if mode == "none":
        log.warning(
            "SLUICE_SANDBOX=none: function processes run as Sluice's own user, on its network, "
            "and can read what it can. Never run code you do not trust this way."
        )
        return RlimitSandbox()
    limits = limits or Limits()
    chosen_uid = (DEFAULT_UID if uid is None else uid) if os.geteuid() == 0 else None
    found = shutil.which(bwrap)
    sandbox: BwrapSandbox | LandlockSandbox
    if mode in ("auto", "bwrap") and found is not None and bwrap_works(found):
        egress = Egress.find(egress_allow)
        if egress is None and network is Network.EGRESS:
            log.warning(
                "no egress here (slirp4netns or /dev/net/tun): functions reach Sluice's API "
                "but not the internet; install slirp4netns (Debian: apt-get install "
                "slirp4netns)"
            )
        sandbox = BwrapSandbox(
            found,
            hidden,
            visible,
            identity=Identity(chosen_uid, chosen_uid) if chosen_uid is not None else None,
            network=network,
            api=api,
            cgroups=Cgroups.detect(),
            limits=limits,
            egress=egress,
        )
    elif mode in ("auto", "landlock") and (version := landlock.abi()) > 0:
        if mode == "auto":
            log.warning(
                "bubblewrap (%s) is missing or cannot make namespaces here: function processes "
                "are held by Landlock, seccomp and limits instead, which cannot give them a "
                "network or /tmp of their own",
                bwrap,
            )
        sandbox = LandlockSandbox(
            version,
            visible,
            network=network,
            api_port=api[1] if api else None,
            uid=chosen_uid,
            cgroups=Cgroups.detect(),
            memory_mb=limits.memory_mb,
            pids=limits.pids,
            cpus=limits.cpus,
            open_files=limits.open_files,
        )
        for closed in sandbox.unreachable():
            log.warning(
                "%s is closed to uid %s: interpreters and libraries under it cannot run in "
                "function processes; install them where every user may read them",
                closed,
                chosen_uid,
            )
    else:
        raise SandboxUnavailable(_unavailable(mode, bwrap))
    log.info("function processes: %s", sandbox.description)
    return sandbox


def _unavailable(mode: str, bwrap: str) -> str:
    if mode == "landlock":
        return (
            "this kernel has no Landlock (Linux 5.13 or later with landlock in its lsm= list), "
            "so SLUICE_SANDBOX=landlock cannot be had: use SLUICE_SANDBOX=auto"
        )
    return (
        f"bubblewrap ({bwrap}) is missing or cannot make namespaces here"
        + (", and this kernel has no Landlock," if mode == "auto" else ",")
        + " so function code could not be contained: install bubblewrap (Debian: apt-get "
        "install bubblewrap) or set SLUICE_SANDBOX=none to run unconfined"
    )
