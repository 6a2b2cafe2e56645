"""Preview1 sockets: no socket descriptors exist, so every ``sock_*`` answers ENOTSOCK (or
EBADF for a descriptor that is not open), as wasmtime does without sockets."""

from __future__ import annotations

from ...world import World
from .state import Area, Preview1Host
from .types import Errno

SIGNATURES = {
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}


class SocketFunctions(Area):
    def sock_accept(self, fd: int, flags: int, out: int) -> int:
        self.fds.lookup(fd)
        return Errno.NOTSOCK

    def sock_recv(
        self, fd: int, ri_data: int, ri_len: int, ri_flags: int, ro_len: int, ro_flags: int
    ) -> int:
        self.fds.lookup(fd)
        return Errno.NOTSOCK

    def sock_send(self, fd: int, si_data: int, si_len: int, si_flags: int, so_len: int) -> int:
        self.fds.lookup(fd)
        return Errno.NOTSOCK

    def sock_shutdown(self, fd: int, how: int) -> int:
        self.fds.lookup(fd)
        return Errno.NOTSOCK


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, SocketFunctions(host, world))
