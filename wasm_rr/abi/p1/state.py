"""What the preview1 areas share: the guest's memory, its descriptor table, and the linker the
functions are defined on (:class:`Preview1Host`, one per instance).

The descriptor table, file positions and readdir cookies are the guest's own state and live
here; every question about the outside world goes to ``world.<family>``. Descriptor numbers
are allocated as wasmtime's preview1 implementation allocates them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...world import World
from ..memory import GuestFault, GuestMemory
from ..trampoline import AbiError, HostFunctions
from .types import Errno, Fdflags

MODULE = "wasi_snapshot_preview1"
"""The import module of every preview1 function."""

Signatures = Mapping[str, tuple[str, str]]
"""Function name -> (parameter types, result types): ``i`` i32, ``I`` i64."""

RawBody = Callable[[memoryview, memoryview], None]
"""A function body taking the argument slots itself (see :meth:`HostFunctions.define`)."""


# ---- descriptors ---------------------------------------------------------------------------------


@dataclass
class StdioDescriptor:
    """fd 0, 1 or 2: a stream of the host, reached through ``world.stdio``."""

    stream: int

    @property
    def readable(self) -> bool:
        return self.stream == 0


@dataclass
class FileDescriptor:
    """An open file (or anything but a directory): a world handle plus the guest's position."""

    handle: int
    filetype: int
    readable: bool
    writable: bool
    fdflags: int  # APPEND and NONBLOCK (the only ones wasmtime accepts)
    position: int = 0

    @property
    def append(self) -> bool:
        return bool(self.fdflags & Fdflags.APPEND)


@dataclass
class DirDescriptor:
    """An open directory; ``preopen`` is its guest path when the host preopened it."""

    handle: int
    preopen: str | None = None


Descriptor = StdioDescriptor | FileDescriptor | DirDescriptor


class FdTable:
    """The guest's descriptors: stdio, then the preopened directories, then what it opens."""

    def __init__(self, world: World) -> None:
        self.entries: dict[int, Descriptor] = {
            0: StdioDescriptor(0),
            1: StdioDescriptor(1),
            2: StdioDescriptor(2),
        }
        self._free: set[int] = set()
        for p in world.fs.preopens():
            self.add(DirDescriptor(p.handle, p.guest_path))

    def add(self, d: Descriptor) -> int:
        """Allocate as wasmtime does: the highest closed fd first, else one past the highest."""
        if self._free:
            fd = max(self._free)
            self._free.discard(fd)
        else:
            fd = max(self.entries, default=-1) + 1
        self.entries[fd] = d
        return fd

    def remove(self, fd: int) -> Descriptor:
        d = self.entries.pop(fd)
        self._free.add(fd)
        return d

    def put(self, fd: int, d: Descriptor) -> None:
        self.entries[fd] = d

    def get(self, fd: int) -> Descriptor | None:
        return self.entries.get(fd)

    def lookup(self, fd: int) -> Descriptor:
        d = self.entries.get(fd)
        if d is None:
            raise AbiError(Errno.BADF)
        return d

    def file(self, fd: int) -> FileDescriptor:
        d = self.lookup(fd)
        if isinstance(d, FileDescriptor):
            return d
        raise AbiError(Errno.BADF)

    def dir(self, fd: int) -> DirDescriptor:
        d = self.lookup(fd)
        if isinstance(d, DirDescriptor):
            return d
        raise AbiError(Errno.NOTDIR if isinstance(d, FileDescriptor) else Errno.BADF)

    def handle(self, fd: int) -> int:
        """The world handle of a file or directory descriptor."""
        d = self.lookup(fd)
        if isinstance(d, StdioDescriptor):
            raise AbiError(Errno.BADF)
        return d.handle


# ---- the per-instance host -----------------------------------------------------------------------


class _NoMemory:
    def __getattr__(self, name: str) -> Any:
        raise GuestFault("the guest exports no memory named `memory`")


class Preview1Host:
    """One instance's preview1 state, shared by every area: the world, the guest's memory
    (bound once the instance exists), the descriptor table, and the raw host functions."""

    def __init__(self, functions: HostFunctions, world: World) -> None:
        self.functions = functions
        self.world = world
        self.mem: GuestMemory = _NoMemory()  # type: ignore[assignment]
        self.fds = FdTable(world)
        self.realloc: Callable[[int, int, int, int], int] | None = None
        """The guest's ``cabi_realloc`` export, when it has one (to hand it variable-size
        answers, as the canonical ABI does)."""

    def bind_memory(self, memory: GuestMemory) -> None:
        self.mem = memory

    def define(
        self,
        signatures: Signatures,
        functions: object,
        raw_bodies: Mapping[str, RawBody] | None = None,
        module: str = MODULE,
    ) -> None:
        """Define every function of ``signatures`` in ``module``: the raw body of that name
        when there is one (for the functions guests call in tight loops), else the method of
        that name of ``functions``."""
        raw = raw_bodies or {}
        imported = self.functions.imported
        for name, (params, results) in signatures.items():
            if imported is not None and (module, name) not in imported:
                continue  # the guest does not import it
            if name in raw:
                self.functions.define(module, name, params, results, raw[name], raw_body=True)
            else:
                self.functions.define(module, name, params, results, getattr(functions, name))


class Area:
    """Base of an area's functions: the shared host and the world."""

    def __init__(self, host: Preview1Host, world: World) -> None:
        self.host = host
        self.world = world
        self.fds = host.fds

    @property
    def mem(self) -> GuestMemory:
        return self.host.mem


__all__ = [
    "MODULE",
    "Area",
    "Descriptor",
    "DirDescriptor",
    "FdTable",
    "FileDescriptor",
    "Preview1Host",
    "RawBody",
    "Signatures",
    "StdioDescriptor",
]
