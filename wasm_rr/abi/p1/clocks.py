"""Preview1 clocks: ``clock_res_get`` and ``clock_time_get``, through ``world.clocks``."""

from __future__ import annotations

from ...world import World
from ...world.clocks import CLOCK_IDS
from ..trampoline import AbiError, slot_unpacker
from .convert import enum_arg
from .state import Area, Preview1Host
from .types import U64, Errno

SIGNATURES = {
    "clock_res_get": ("ii", "i"),
    "clock_time_get": ("iIi", "i"),
}

# The clocks wasmtime provides (realtime, monotonic); the CPU-time clocks answer EBADF.
_WASMTIME_CLOCKS = (0, 1)


def _clock(clock_id: int) -> None:
    """A clock other than realtime and monotonic: a trap for a bad id (as wiggle converts
    it), else EBADF."""
    enum_arg(clock_id, 32, len(CLOCK_IDS), "Clockid")
    raise AbiError(Errno.BADF)


class ClockFunctions(Area):
    def clock_res_get(self, clock_id: int, out: int) -> int:
        if clock_id not in _WASMTIME_CLOCKS:
            _clock(clock_id)
        self.mem.check(out, 8, 8)
        self.mem.set_u64(out, self.world.clocks.resolution(clock_id))
        return 0


def define(host: Preview1Host, world: World) -> None:
    # ``clock_time_get`` runs once per event in tight loops: a raw body (see
    # ``HostFunctions.define``), a closure (cell reads are cheaper than a method's attribute
    # reads) taking the argument slots directly.
    now = world.clocks.now
    pack_u64 = U64.pack_into
    clock_args = slot_unpacker(SIGNATURES["clock_time_get"][0])

    def clock_time_get(raw: memoryview, ints: memoryview) -> None:
        clock_id, _precision, out = clock_args(raw)
        if clock_id > 1:
            _clock(clock_id)
        mem = host.mem
        if out & 7 or out + 8 > mem.size:
            mem.check(out, 8, 8)
        pack_u64(mem.view, out, now(clock_id))
        ints[0] = 0

    host.define(SIGNATURES, ClockFunctions(host, world), {"clock_time_get": clock_time_get})


__all__ = [
    "SIGNATURES",
    "ClockFunctions",
    "define",
]
