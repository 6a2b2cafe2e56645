"""Raw C-API host functions for core modules.

``Linker.define_func`` costs about 7.5 us per call because wasmtime-py re-reads the function
type and boxes every value. Here a host function is a ctypes callback registered with
``wasmtime_linker_define_func_unchecked``: parameters arrive in an array of 16-byte
``wasmtime_val_raw_t`` slots, unpacked with one precompiled ``struct`` per signature through a
memoryview cached per array address, and the i32 result goes back into slot 0. The call costs
about 0.3 us.

A ctypes callback must never let an exception escape (ctypes would print it and return 0, and
the guest would carry on with garbage). Every callback catches everything: an ABI-level error
becomes the function's error result; anything else (an exit, a drift error, a bad pointer) is
kept in :attr:`HostFunctions.pending` and turned into a wasm trap, and the runner settles it
(:mod:`wasm_rr.abi.outcome`) when the call into wasm returns. The C calls themselves are in
:mod:`wasm_rr.abi._wasmtime`.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Collection
from typing import Any

import wasmtime

from ._wasmtime import CALLBACK, define_func_unchecked, new_trap

_VALTYPES = {"i": wasmtime.ValType.i32, "I": wasmtime.ValType.i64}
_SLOT_FORMATS = {"i": "I12x", "I": "Q8x"}


_FUNCTYPES: dict[tuple[int, str, str], tuple[wasmtime.Engine, wasmtime.FuncType]] = {}


def _functype(engine: wasmtime.Engine, params: str, results: str) -> wasmtime.FuncType:
    """One function type per signature and engine, for the engine's life. Per engine: the C
    API's function type registers itself with the first engine it is used with, and using it
    with another one aborts the process."""
    key = (id(engine), params, results)
    found = _FUNCTYPES.get(key)
    if found is None or found[0] is not engine:
        functype = wasmtime.FuncType(
            [_VALTYPES[p]() for p in params], [_VALTYPES[r]() for r in results]
        )
        found = _FUNCTYPES[key] = (engine, functype)
    return found[1]


class AbiError(Exception):
    """An error the ABI layer reports to the guest as the function's error result."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


ErrorResult = Callable[[BaseException], int | None]


def slot_unpacker(params: str) -> Callable[[memoryview], tuple[int, ...]]:
    """Unpacks the argument slots of a ``params`` signature (i32/i64 as unsigned ints)."""
    unpack: Callable[[memoryview], tuple[int, ...]] = struct.Struct(
        "<" + "".join(_SLOT_FORMATS[p] for p in params)
    ).unpack_from
    return unpack


class HostFunctions:
    """Registers Python functions as raw host functions on a core-module linker."""

    def __init__(
        self,
        linker: wasmtime.Linker,
        error_result: ErrorResult,
        imported: Collection[tuple[str, str]] | None = None,
    ) -> None:
        self._linker = linker
        self._error_result = error_result
        self.imported = imported
        """Only these ``(module, name)`` are defined, when given (the guest's imports: defining
        the others would cost every run and serve nothing)."""
        self._keep: list[Any] = []
        self.pending: BaseException | None = None

    def trap(self, exc: BaseException) -> int:
        """Keep ``exc`` for the engine and return a new trap for wasmtime to raise."""
        if self.pending is None:
            self.pending = exc
        msg = str(exc).encode("utf-8", "replace") or type(exc).__name__.encode()
        return new_trap(msg)

    def define(
        self,
        module: str,
        name: str,
        params: str,
        results: str,
        fn: Callable[..., Any],
        raw_body: bool = False,
    ) -> None:
        """Define ``module.name``; ``params``/``results`` spell the types (``i`` i32, ``I`` i64).

        ``fn`` receives the parameters (i32 and i64 as unsigned ints) and returns the i32
        result (or None when ``results`` is empty). With ``raw_body``, ``fn(raw, ints)`` gets
        the argument slots themselves (bytes, and i32s), unpacks them with
        :func:`slot_unpacker` and stores its result in ``ints[0]``: one call less, for the
        functions guests call in tight loops.
        """
        if self.imported is not None and (module, name) not in self.imported:
            return
        functype = _functype(self._linker.engine, params, results)
        unpack = slot_unpacker(params)
        nbytes = 16 * max(len(params), len(results), 1)
        error_result = self._error_result
        trap = self.trap
        returns = bool(results)
        # The args array sits at the same address call after call (it is on the native stack
        # of wasmtime's trampoline); its views are rebuilt only when the address changes.
        address = 0
        raw = ints = memoryview(b"")

        def raw_callback(env: int, caller: int, args: int, nargs: int) -> int:
            nonlocal address, raw, ints
            if args != address:
                raw = memoryview((ctypes.c_char * nbytes).from_address(args)).cast("B")
                ints = raw.cast("i")
                address = args
            try:
                fn(raw, ints)
            except BaseException as exc:  # every exception: see the module docstring
                code = error_result(exc)
                if code is None:
                    return trap(exc)
                ints[0] = code
            return 0

        def callback(env: int, caller: int, args: int, nargs: int) -> int:
            nonlocal address, raw, ints
            if args != address:
                raw = memoryview((ctypes.c_char * nbytes).from_address(args)).cast("B")
                ints = raw.cast("i")
                address = args
            try:
                result = fn(*unpack(raw))
            except BaseException as exc:  # every exception: see the module docstring
                code = error_result(exc)
                if code is None:
                    return trap(exc)
                result = code
            if returns:
                ints[0] = result
            return 0

        cb = CALLBACK(raw_callback if raw_body else callback)
        self._keep.append((cb, functype))
        define_func_unchecked(self._linker, module.encode(), name.encode(), functype, cb)


__all__ = [
    "AbiError",
    "ErrorResult",
    "HostFunctions",
    "slot_unpacker",
]
