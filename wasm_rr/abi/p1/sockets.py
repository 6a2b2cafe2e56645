"""Preview1 sockets: no socket descriptors exist, so every ``sock_*`` answers ENOTSOCK (or
EBADF for a descriptor that is not open), as wasmtime does without sockets. Flags arguments
are checked first, as wiggle converts them (a bad one traps)."""

from __future__ import annotations

from ...world import World
from .convert import flags_arg, narrow
from .state import Area, Preview1Host
from .types import Errno, Fdflags

FDFLAGS = int(Fdflags.APPEND | Fdflags.DSYNC | Fdflags.NONBLOCK | Fdflags.RSYNC | Fdflags.SYNC)
RIFLAGS = 0b11  # recv_peek, recv_waitall
SDFLAGS = 0b11  # rd, wr

SIGNATURES = {
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}


class SocketFunctions(Area):
    def sock_accept(self, fd: int, flags: int, out: int) -> int:
        flags_arg(flags, 16, FDFLAGS, "Fdflags")
        self.fds.lookup(fd)
        return Errno.NOTSOCK

    def sock_recv(
        self, fd: int, ri_data: int, ri_len: int, ri_flags: int, ro_len: int, ro_flags: int
    ) -> int:
        flags_arg(ri_flags, 16, RIFLAGS, "Riflags")
        self.fds.lookup(fd)
        return Errno.NOTSOCK

    def sock_send(self, fd: int, si_data: int, si_len: int, si_flags: int, so_len: int) -> int:
        narrow(si_flags, 16)  # siflags: a plain u16
        self.fds.lookup(fd)
        return Errno.NOTSOCK

    def sock_shutdown(self, fd: int, how: int) -> int:
        flags_arg(how, 8, SDFLAGS, "Sdflags")
        self.fds.lookup(fd)
        return Errno.NOTSOCK


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, SocketFunctions(host, world))


__all__ = [
    "FDFLAGS",
    "RIFLAGS",
    "SDFLAGS",
    "SIGNATURES",
    "SocketFunctions",
    "define",
]
