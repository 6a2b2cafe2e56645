"""``wasm-rr:process/process@0.1.0`` for core modules: the canonical-ABI lowering of
``wit/process.wit``'s ``run``, so the same C source builds as a module and as a component.

Core signature: ``run(program_ptr, program_len, args_ptr, args_len, cwd_ptr, cwd_len, env_ptr,
env_len, stdin_ptr, stdin_len, timeout_ms: i64, retptr)``. Lists of strings are arrays of
``(ptr, len)`` pairs. At ``retptr`` (32 bytes, align 4) goes ``result<output, error-code>``: a
discriminant byte, then the output record at +4 (status, signal, timed-out, stdout and stderr
as (ptr, len) in buffers the guest's ``cabi_realloc`` allocates) or the error code at +4.
This module only decodes guest memory, asks ``world.process``, and encodes the answer.
"""

from __future__ import annotations

import struct

from ...world import World, WorldError
from ...world.process import FAMILY, Completed, Request
from .canonical import Lowering
from .state import Preview1Host

MODULE = "wasm-rr:process/process@0.1.0"
ERROR_CODES = {"EACCES": 0, "ENOENT": 1, "ENOTDIR": 2, "EINVAL": 3}
"""WorldError names -> the WIT ``error-code`` enum (anything else is ``io``, 4)."""
IO = 4
_OK = struct.Struct("<BxxxiIBxxxIIII")


class ProcessAbi(Lowering):
    """The import, bound to one instance: the world's process family and the guest's memory."""

    def __init__(self, world: World, host: Preview1Host) -> None:
        super().__init__(host, MODULE)
        self.world = world
        self.process = world.get(FAMILY)

    def run(
        self,
        program_ptr: int,
        program_len: int,
        args_ptr: int,
        args_len: int,
        cwd_ptr: int,
        cwd_len: int,
        env_ptr: int,
        env_len: int,
        stdin_ptr: int,
        stdin_len: int,
        timeout_ms: int,
        retptr: int,
    ) -> None:
        mem = self.memory()
        mem.check(retptr, 32, 4)
        request = Request(
            self.string(mem, program_ptr, program_len),
            self.strings(mem, args_ptr, args_len),
            self.string(mem, cwd_ptr, cwd_len),
            self.strings(mem, env_ptr, env_len),
            mem.read(stdin_ptr, stdin_len),
            timeout_ms & 0xFFFFFFFFFFFFFFFF,
        )
        try:
            done: Completed = self.process.run(request)
        except WorldError as err:
            mem.view[retptr : retptr + 8] = bytes(
                (1, 0, 0, 0, ERROR_CODES.get(err.name, IO), 0, 0, 0)
            )
            return
        try:
            out = self.output(done.stdout)
            err_out = self.output(done.stderr)
        finally:
            done.close()
        mem = self.memory()
        _OK.pack_into(
            mem.view, retptr, 0, done.status, done.signal, int(done.timed_out), *out, *err_out
        )


SIGNATURES = {"run": ("i" * 10 + "Ii", "")}


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, ProcessAbi(world, host), module=MODULE)


__all__ = [
    "ERROR_CODES",
    "IO",
    "MODULE",
    "SIGNATURES",
    "ProcessAbi",
    "define",
]
