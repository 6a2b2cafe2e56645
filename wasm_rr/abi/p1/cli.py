"""Preview1 arguments, environment and process: ``args_*``, ``environ_*``, ``proc_exit``,
``proc_raise``, ``sched_yield``, through ``world.cli``."""

from __future__ import annotations

from ...world import World
from ..outcome import GuestExit, GuestTrap
from .state import Area, Preview1Host

SIGNATURES = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
}


class CliFunctions(Area):
    def _write_strings(self, strings: list[bytes], ptrs: int, buf: int) -> int:
        mem = self.mem
        total = sum(len(s) + 1 for s in strings)
        mem.check(ptrs, 4 * len(strings), 4)
        mem.check(buf, total)
        for s in strings:
            mem.set_u32(ptrs, buf)
            mem.write(buf, s + b"\0")
            ptrs += 4
            buf += len(s) + 1
        return 0

    def _sizes(self, strings: list[bytes], count_ptr: int, size_ptr: int) -> int:
        self.mem.set_u32(count_ptr, len(strings))
        self.mem.set_u32(size_ptr, sum(len(s) + 1 for s in strings))
        return 0

    def args_get(self, argv: int, argv_buf: int) -> int:
        return self._write_strings(self.world.cli.args(), argv, argv_buf)

    def args_sizes_get(self, argc: int, argv_buf_size: int) -> int:
        return self._sizes(self.world.cli.args(), argc, argv_buf_size)

    def environ_get(self, environ: int, environ_buf: int) -> int:
        return self._write_strings(self.world.cli.environ(), environ, environ_buf)

    def environ_sizes_get(self, count: int, size: int) -> int:
        return self._sizes(self.world.cli.environ(), count, size)

    def sched_yield(self) -> int:
        return 0

    def proc_exit(self, status: int) -> None:
        self.world.cli.exit(status)
        raise GuestExit(status)

    def proc_raise(self, signal: int) -> int:
        raise GuestTrap("proc_raise unsupported")


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, CliFunctions(host, world))
