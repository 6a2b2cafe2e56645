"""Preview1 ``random_get``, through ``world.random``."""

from __future__ import annotations

from ...world import World
from ..memory import U32_MAX
from ..outcome import GuestTrap
from ..trampoline import slot_unpacker
from .state import Preview1Host

SIGNATURES = {
    "random_get": ("ii", "i"),
}

RANDOM_LIMIT = 64 << 20
"""The most bytes one call may ask for; wasmtime traps beyond it."""
FILL_MIN = 1 << 20
"""Reads larger than this are produced (and recorded, and replayed) in place, in pieces."""


def define(host: Preview1Host, world: World) -> None:
    # Runs once per event in tight loops: a raw body taking the argument slots directly, a
    # closure (cell reads are cheaper than a method's attribute reads).
    secure = world.random.secure
    fill = world.random.fill
    random_args = slot_unpacker(SIGNATURES["random_get"][0])

    def random_get(raw: memoryview, ints: memoryview) -> None:
        buf, n = random_args(raw)
        mem = host.mem
        if buf + n > mem.size or n > RANDOM_LIMIT or buf + n > U32_MAX:
            # wasmtime refuses more than its limit, never checks an empty buffer, and writes
            # the bytes as it writes any (memory.store_bytes): in bounds, then the pointer
            # past them, which in a 4 GiB memory may overflow.
            if n > RANDOM_LIMIT:
                raise GuestTrap(f"requested len {n} exceeds limit {RANDOM_LIMIT}")
            if n == 0:
                ints[0] = 0
                return
            mem.check(buf, n)
            mem.add(buf, n)
        if n > FILL_MIN:
            fill(mem.view[buf : buf + n])
        else:
            mem.view[buf : buf + n] = secure(n)
        ints[0] = 0

    host.define(SIGNATURES, None, {"random_get": random_get})


__all__ = [
    "FILL_MIN",
    "RANDOM_LIMIT",
    "SIGNATURES",
    "define",
]
