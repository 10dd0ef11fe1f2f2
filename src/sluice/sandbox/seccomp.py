"""The system calls a function process may not make, as a seccomp BPF program for bubblewrap.

A deny list on top of the kernel's own checks, close to what container runtimes refuse by
default (Docker's and Podman's profiles): raw and packet sockets (no sniffing of other
clients' traffic), tracing other processes, mounts and new namespaces, keyrings, BPF,
perf events, kernel modules, clocks, swap, reboot, io_uring. Everything else is allowed,
so the interpreters and any executable keep working. Refused calls fail with EPERM instead
of killing the process, so a function sees an ordinary error it can report.

The program is built with libseccomp (through pyseccomp) once per server and written to a
fresh memfd for each launch: bwrap reads it from a file descriptor.
"""

from __future__ import annotations

import errno
import functools
import socket
import tempfile

import pyseccomp as seccomp

#: refused outright (a name the running libseccomp does not know is skipped)
DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "quotactl",
    "quotactl_fd",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "vhangup",
    "sethostname",
    "setdomainname",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "fanotify_init",
    "nfsservctl",
    "uselib",
)
#: clone flags that would make new namespaces (and with them, privileges inside them)
NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
_SOCKET_TYPE_MASK = 0xF
_SOCK_PACKET = 10


@functools.cache
def program() -> bytes:
    """The compiled filter for this machine's architecture."""
    deny = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):
            continue  # not a system call of this architecture or libseccomp
    # clone's flags are its first argument on x86-64 and arm64
    _deny_namespace_clones(rules, deny)
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc use clone
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    rules.add_rule(deny, "socket", seccomp.Arg(0, seccomp.EQ, socket.AF_PACKET))
    for kind in (socket.SOCK_RAW, _SOCK_PACKET):
        rules.add_rule(deny, "socket", seccomp.Arg(1, seccomp.MASKED_EQ, _SOCKET_TYPE_MASK, kind))
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()


def _deny_namespace_clones(rules: seccomp.SyscallFilter, deny: int) -> None:
    """One rule per namespace flag: a rule's argument tests are ANDed, so each flag set alone
    must match a rule of its own."""
    for bit in range(32):
        flag = 1 << bit
        if NAMESPACE_FLAGS & flag:
            rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
