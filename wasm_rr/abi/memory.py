"""Guest linear memory: bounds- and alignment-checked loads and stores.

The engine is configured with ``memory_may_move = False``, so the base address of a memory never
changes and one memoryview over it stays valid; after ``memory.grow`` the view is rebuilt the
first time an access falls past its end. A pointer that is still out of bounds, or misaligned
for its type, raises :class:`GuestFault`: the call traps, as wasmtime's own WASI does.
"""

from __future__ import annotations

import ctypes
import struct

import wasmtime

from .outcome import GuestTrap

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_U32X2 = struct.Struct("<II")


class GuestFault(GuestTrap):
    """The guest passed a pointer that is out of bounds or misaligned: the call traps."""


class GuestMemory:
    def __init__(self, store: wasmtime.Store, memory: wasmtime.Memory) -> None:
        self._store = store
        self._memory = memory
        self.view = memoryview(b"")
        self.size = 0
        self._refresh()

    def _refresh(self) -> None:
        size = self._memory.data_len(self._store)
        base = ctypes.addressof(self._memory.data_ptr(self._store).contents)
        self.view = memoryview((ctypes.c_ubyte * size).from_address(base)).cast("B")
        self.size = size

    def check(self, ptr: int, n: int, align: int = 1) -> None:
        """Make sure ``[ptr, ptr+n)`` is inside memory and ``ptr`` is aligned, or fault."""
        # The messages are wasmtime's own, so a trap reads the same under either host.
        if ptr + n > self.size:
            self._refresh()
            if ptr + n > self.size:
                raise GuestFault(f"Pointer out of bounds: Region {{ start: {ptr}, len: {n} }}")
        if ptr % align:
            raise GuestFault(f"Pointer not aligned to {align}: Region {{ start: {ptr}, len: {n} }}")

    def read(self, ptr: int, n: int) -> bytes:
        if ptr + n > self.size:
            self.check(ptr, n)
        return bytes(self.view[ptr : ptr + n])

    def write(self, ptr: int, data: bytes) -> None:
        n = len(data)
        if ptr + n > self.size:
            self.check(ptr, n)
        self.view[ptr : ptr + n] = data

    def u32(self, ptr: int) -> int:
        if ptr & 3 or ptr + 4 > self.size:
            self.check(ptr, 4, 4)
        value: int = _U32.unpack_from(self.view, ptr)[0]
        return value

    def u32_pair(self, ptr: int) -> tuple[int, int]:
        if ptr & 3 or ptr + 8 > self.size:
            self.check(ptr, 8, 4)
        pair: tuple[int, int] = _U32X2.unpack_from(self.view, ptr)
        return pair

    def set_u8(self, ptr: int, value: int) -> None:
        if ptr + 1 > self.size:
            self.check(ptr, 1)
        self.view[ptr] = value

    def set_u16(self, ptr: int, value: int) -> None:
        if ptr & 1 or ptr + 2 > self.size:
            self.check(ptr, 2, 2)
        _U16.pack_into(self.view, ptr, value)

    def set_u32(self, ptr: int, value: int) -> None:
        if ptr & 3 or ptr + 4 > self.size:
            self.check(ptr, 4, 4)
        _U32.pack_into(self.view, ptr, value)

    def set_u64(self, ptr: int, value: int) -> None:
        if ptr & 7 or ptr + 8 > self.size:
            self.check(ptr, 8, 8)
        _U64.pack_into(self.view, ptr, value)

    def pack_into(self, fmt: struct.Struct, ptr: int, align: int, *values: int) -> None:
        """Store a struct (a WASI record) at ``ptr``."""
        if ptr % align or ptr + fmt.size > self.size:
            self.check(ptr, fmt.size, align)
        fmt.pack_into(self.view, ptr, *values)

    def unpack_from(self, fmt: struct.Struct, ptr: int, align: int) -> tuple[int, ...]:
        if ptr % align or ptr + fmt.size > self.size:
            self.check(ptr, fmt.size, align)
        values: tuple[int, ...] = fmt.unpack_from(self.view, ptr)
        return values


__all__ = [
    "GuestFault",
    "GuestMemory",
]
