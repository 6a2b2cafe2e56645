"""Preview1 arguments, environment and process: ``args_*``, ``environ_*``, ``proc_exit``,
``proc_raise``, ``sched_yield``, through ``world.cli``."""

from __future__ import annotations

from ...world import World
from ..outcome import GuestExit, GuestTrap
from .convert import enum_arg
from .state import Area, Preview1Host
from .types import Errno

SIGNATURES = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
}

EXIT_LIMIT = 126
"""wasmtime refuses exit statuses from 126 up (the shell's own) with a trap."""

SIGNALS = 31
"""The witx ``signal`` enum: ``none`` (0) to ``sys`` (30)."""


class CliFunctions(Area):
    def _write_strings(self, strings: list[bytes], ptrs: int, buf: int, env: bool) -> int:
        # wasmtime writes each pointer and moves past it, then the string's pieces (an
        # environment variable's name, "=", value) and its NUL as bytes (memory.store_bytes):
        # a bad pointer traps naming the first region that does not fit (an empty piece is not
        # checked), a pointer moved past u32::MAX as an overflow.
        mem = self.mem
        for s in strings:
            mem.set_u32(ptrs, buf)
            ptrs = mem.add(ptrs, 4)
            name, eq, value = s.partition(b"=") if env else (s, b"", b"")
            for piece in (name, eq, value, b"\0"):
                buf = mem.store_bytes(buf, piece)
        return 0

    def _sizes(self, strings: list[bytes], count_ptr: int, size_ptr: int) -> int:
        self.mem.set_u32(count_ptr, len(strings))
        self.mem.set_u32(size_ptr, sum(len(s) + 1 for s in strings))
        return 0

    def args_get(self, argv: int, argv_buf: int) -> int:
        return self._write_strings(self.world.cli.args(), argv, argv_buf, env=False)

    def args_sizes_get(self, argc: int, argv_buf_size: int) -> int:
        return self._sizes(self.world.cli.args(), argc, argv_buf_size)

    def environ_get(self, environ: int, environ_buf: int) -> int:
        return self._write_strings(self.world.cli.environ(), environ, environ_buf, env=True)

    def environ_sizes_get(self, count: int, size: int) -> int:
        return self._sizes(self.world.cli.environ(), count, size)

    def sched_yield(self) -> int:
        return 0

    def proc_exit(self, status: int) -> None:
        if status >= EXIT_LIMIT:
            raise GuestTrap("exit with invalid exit status outside of [0..126)")
        self.world.cli.exit(status)
        raise GuestExit(status)

    def proc_raise(self, signal: int) -> int:
        enum_arg(signal, 8, SIGNALS, "Signal")
        return Errno.NOTSUP


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, CliFunctions(host, world))


__all__ = [
    "EXIT_LIMIT",
    "SIGNALS",
    "SIGNATURES",
    "CliFunctions",
    "define",
]
