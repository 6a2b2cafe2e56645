"""The canonical-ABI pieces the custom core-module imports share (``wasm-rr:process``,
``wasm-rr:http``): strings read out of guest memory, and answers placed in buffers that the
guest's own ``cabi_realloc`` allocates, large outputs copied in pieces."""

from __future__ import annotations

import struct

from ...world.process import Output
from ..memory import GuestFault, GuestMemory
from .state import Preview1Host

PAIR = struct.Struct("<II")
"""A ``(ptr, len)`` pair: a string or a list in linear memory."""


class Lowering:
    """Reads arguments and lowers answers for one import (``what`` names it in traps)."""

    def __init__(self, host: Preview1Host, what: str) -> None:
        self.host = host
        self.what = what

    def memory(self) -> GuestMemory:
        """The guest's memory (re-read after each allocation: ``cabi_realloc`` may grow it)."""
        return self.host.mem

    def string(self, mem: GuestMemory, ptr: int, n: int, kind: str = "string") -> str:
        try:
            return mem.read(ptr, n).decode("utf-8")
        except UnicodeDecodeError:
            raise GuestFault(f"invalid utf-8 {kind} passed to {self.what}") from None

    def strings(self, mem: GuestMemory, ptr: int, n: int) -> list[str]:
        """A ``list<string>``: ``n`` pairs at ``ptr``."""
        mem.check(ptr, PAIR.size * n, 4)
        return [
            self.string(mem, *PAIR.unpack_from(mem.view, ptr + PAIR.size * i)) for i in range(n)
        ]

    def alloc(self, size: int, align: int = 1) -> int:
        realloc = self.host.realloc
        if realloc is None:
            raise GuestFault(
                f"the guest exports no `cabi_realloc` to receive the answer of {self.what}"
            )
        ptr = realloc(0, 0, align, size)
        self.memory().check(ptr, size, align)
        return ptr

    def bytes(self, data: bytes) -> tuple[int, int]:
        """``data`` in a new guest buffer: its ``(ptr, len)`` (``(0, 0)`` when empty)."""
        if not data:
            return 0, 0
        ptr = self.alloc(len(data))
        self.memory().view[ptr : ptr + len(data)] = data
        return ptr, len(data)

    def output(self, out: Output) -> tuple[int, int]:
        """``out`` in a new guest buffer, copied in pieces: its ``(ptr, len)``."""
        if out.size == 0:
            return 0, 0
        ptr = self.alloc(out.size)
        view = self.memory().view
        at = ptr
        for chunk in out.chunks():
            view[at : at + len(chunk)] = chunk
            at += len(chunk)
        return ptr, out.size


__all__ = [
    "PAIR",
    "Lowering",
]
