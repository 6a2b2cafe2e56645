"""Guest linear memory: bounds- and alignment-checked loads and stores.

The engine is configured with ``memory_may_move = False``, so the base address of a memory never
changes and one memoryview over it stays valid; after ``memory.grow`` the view is rebuilt the
first time an access falls past its end. A pointer that is still out of bounds, or misaligned
for its type, raises :class:`GuestFault`: the call traps, as wasmtime's own WASI does.

wasmtime checks guest pointers three ways, and a guest can tell them apart, so this module
does the same, in one place:

- a region (pointer, length) is checked against the memory's size, counted without wrapping
  (:meth:`GuestMemory.check`): past the end traps "Pointer out of bounds", even when pointer
  plus length overflows 32 bits; a region may end at 4 GiB exactly;
- pointer arithmetic is u32 arithmetic (:meth:`GuestMemory.add`): the address of a record's
  next field, of an array's next element, or the end of bytes just written, past
  ``u32::MAX`` traps "Pointer overflow" (only a 4 GiB memory gets there in bounds);
- a record is read and written field by field (:class:`Record`), each field checked at its
  own address: a record across the end traps naming the first field that does not fit, and
  padding is left alone.
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

U32_MAX = 0xFFFF_FFFF
OVERFLOW = "Pointer overflow"
"""wasmtime's trap for pointer arithmetic past ``u32::MAX``."""


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

    @staticmethod
    def add(ptr: int, n: int) -> int:
        """``ptr + n`` as wasmtime computes a guest pointer: u32 arithmetic, past ``u32::MAX``
        a trap."""
        end = ptr + n
        if end > U32_MAX:
            raise GuestFault(OVERFLOW)
        return end

    def store_bytes(self, ptr: int, data: bytes) -> int:
        """Copy ``data`` to ``ptr`` and return the pointer past it, as wasmtime writes bytes it
        produced (a name, random bytes, a link target): only the bytes written are checked
        (none when ``data`` is empty), then the pointer moves past them (at 4 GiB, a trap)."""
        n = len(data)
        if n:
            if ptr + n > self.size:
                self.check(ptr, n)
            self.view[ptr : ptr + n] = data
        return self.add(ptr, n)

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


class Record:
    """A WASI record in guest memory, read and written field by field as wasmtime does: each
    field's address is ``ptr + offset`` (u32 arithmetic: past ``u32::MAX`` a trap), checked for
    bounds and its own alignment; padding is never written."""

    def __init__(self, *fields: tuple[int, str]) -> None:
        """``fields``: (offset, struct format of one little-endian integer: B, H, I or Q)."""
        self.fields = [(offset, struct.Struct("<" + fmt)) for offset, fmt in fields]
        self.size = max(offset + f.size for offset, f in self.fields)

    def store(self, mem: GuestMemory, ptr: int, *values: int) -> None:
        for (offset, fmt), value in zip(self.fields, values, strict=True):
            at = mem.add(ptr, offset) if offset else ptr
            if at % fmt.size or at + fmt.size > mem.size:
                mem.check(at, fmt.size, fmt.size)
            fmt.pack_into(mem.view, at, value)

    def load(self, mem: GuestMemory, ptr: int) -> tuple[int, ...]:
        out = []
        for offset, fmt in self.fields:
            at = mem.add(ptr, offset) if offset else ptr
            if at % fmt.size or at + fmt.size > mem.size:
                mem.check(at, fmt.size, fmt.size)
            out.append(fmt.unpack_from(mem.view, at)[0])
        return tuple(out)


__all__ = [
    "OVERFLOW",
    "U32_MAX",
    "GuestFault",
    "GuestMemory",
    "Record",
]
