"""Sockets made in a sandbox's network for a server that is not root.

`python -I -S netns_agent.py PID FD`: joins the user namespace that owns the network of
process PID (bubblewrap nests another under it for the process itself) and then that network
(a process of the server's user may, being their owner; a thread may not join a user
namespace, hence a process), then answers each request on the UNIX socket
FD, two native ints (family, type), with a new socket of that kind made there, passed back
as ancillary data behind a zero (or an errno alone). It exits when the server closes its end.
Standard library only: it runs with -S, before anything of Sluice's is importable.
"""

import ctypes
import fcntl
import os
import socket
import struct
import sys

_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_NS_GET_USERNS = 0xB701


def main() -> int:
    pid, fd = int(sys.argv[1]), int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    net = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    owner = fcntl.ioctl(net, _NS_GET_USERNS)
    for ns, flag, name in ((owner, _CLONE_NEWUSER, "user"), (net, _CLONE_NEWNET, "net")):
        if libc.setns(ns, flag) != 0:
            print(f"netns agent: setns {name} of {pid}: {os.strerror(ctypes.get_errno())}")
            return 1
        os.close(ns)
    channel = socket.socket(fileno=fd)
    while True:
        request = channel.recv(8)
        if len(request) < 8:
            return 0
        family, kind = struct.unpack("ii", request)
        try:
            made = socket.socket(family, kind)
        except OSError as exc:
            channel.sendall(struct.pack("i", exc.errno or 1))
            continue
        socket.send_fds(channel, [struct.pack("i", 0)], [made.fileno()])
        made.close()


if __name__ == "__main__":
    sys.exit(main())
