"""Raw C-API host functions for core modules, and the store's fuel counter.

``Linker.define_func`` costs about 7.5 us per call because wasmtime-py re-reads the function
type and boxes every value. Here a host function is a ctypes callback registered with
``wasmtime_linker_define_func_unchecked``: parameters arrive in an array of 16-byte
``wasmtime_val_raw_t`` slots, unpacked with one precompiled ``struct`` per signature through a
memoryview cached per array address, and the i32 result goes back into slot 0. The call costs
about 0.3 us.

A ctypes callback must never let an exception escape (ctypes would print it and return 0, and
the guest would carry on with garbage). Every callback catches everything: an ABI-level error
becomes the function's error result; anything else (an exit, a drift error, a bad pointer) is
kept in :attr:`HostFunctions.pending` and turned into a wasm trap, and the engine re-raises it
when the call into wasm returns.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t
)

_VALTYPES = {"i": wasmtime.ValType.i32, "I": wasmtime.ValType.i64}
_SLOT_FORMATS = {"i": "I12x", "I": "Q8x"}


def _c_function(name: str, restype: Any, argtypes: list[Any]) -> Any:
    # CDLL.__getitem__ returns a fresh function object, so these argtypes do not disturb
    # wasmtime-py's own bindings of the same symbols.
    fn = ffi.dll[name]
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


_define = _c_function(
    "wasmtime_linker_define_func_unchecked",
    ctypes.c_void_p,
    [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_void_p,
        CALLBACK,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ],
)
_trap_new = _c_function("wasmtime_trap_new", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_size_t])
_store_context = _c_function("wasmtime_store_context", ctypes.c_void_p, [ctypes.c_void_p])
_get_fuel = _c_function(
    "wasmtime_context_get_fuel", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_void_p]
)


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

    def __init__(self, linker: wasmtime.Linker, error_result: ErrorResult) -> None:
        self._linker = linker
        self._error_result = error_result
        self._keep: list[Any] = []
        self.pending: BaseException | None = None

    def trap(self, exc: BaseException) -> int:
        """Keep ``exc`` for the engine and return a new trap for wasmtime to raise."""
        if self.pending is None:
            self.pending = exc
        msg = str(exc).encode("utf-8", "replace") or type(exc).__name__.encode()
        return int(_trap_new(msg, len(msg)))

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
        functype = wasmtime.FuncType(
            [_VALTYPES[p]() for p in params], [_VALTYPES[r]() for r in results]
        )
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
        m, n = module.encode(), name.encode()
        err = _define(
            ctypes.cast(self._linker.ptr(), ctypes.c_void_p),
            m,
            len(m),
            n,
            len(n),
            ctypes.cast(functype.ptr(), ctypes.c_void_p),
            cb,
            None,
            None,
        )
        if err:
            raise wasmtime.WasmtimeError._from_ptr(
                ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t))
            )


# ---- fuel ----------------------------------------------------------------------------------------

FUEL_BUDGET = 1 << 62
"""Fuel given to a guest: far more than any run can use, so fuel never runs out."""


class ApiFuel:
    """Fuel consumed so far, through the C API (used when the fast cell cannot be located)."""

    def __init__(self, store: wasmtime.Store) -> None:
        self._ctx = _store_context(ctypes.cast(store.ptr(), ctypes.c_void_p))
        self._out = ctypes.c_uint64()
        self._ref = ctypes.addressof(self._out)

    def __getitem__(self, index: int) -> int:
        _get_fuel(self._ctx, self._ref)
        return FUEL_BUDGET - self._out.value


def fuel_cell(store: wasmtime.Store) -> Any:
    """A cell whose ``[0]`` is the fuel consumed so far, read in about 40 ns.

    Wasmtime keeps the store's fuel as a negative "injected fuel" i64 inside the store context,
    which compiled code updates before every host call. Its offset is found by setting two
    distinct fuel amounts and looking for both at the same place; if that fails (another
    wasmtime build), the C API is used instead. Either way the store ends with FUEL_BUDGET.
    """
    ctx = _store_context(ctypes.cast(store.ptr(), ctypes.c_void_p))
    probes = (0x1234_5678_9ABC_D, 0x0FED_CBA9_8765_4)
    # The store context is a heap block of about 2.4 KiB in wasmtime 50 (the counter sits at
    # 2136); scan no further than that block, so as never to read past it.
    span = 2432
    offset = None
    store.set_fuel(probes[0])
    first = ctypes.string_at(ctx, span)
    candidates = [
        o for o in range(0, span - 8, 8) if struct.unpack_from("<q", first, o)[0] == -probes[0]
    ]
    store.set_fuel(probes[1])
    for o in candidates:
        if ctypes.c_int64.from_address(ctx + o).value == -probes[1]:
            offset = o
            break
    store.set_fuel(FUEL_BUDGET)
    if offset is None or ctypes.c_int64.from_address(ctx + offset).value != -FUEL_BUDGET:
        return ApiFuel(store)
    return memoryview((ctypes.c_char * 8).from_address(ctx + offset)).cast("B").cast("q")


# ---- calling into wasm -------------------------------------------------------------------------

# The same C function as wasmtime-py's, but loaded through PyDLL: the call keeps the GIL, so each
# host-function callback finds the GIL already held instead of re-acquiring it (about 0.2 us per
# host call saved). Nothing else runs Python while the guest runs, so holding it costs nothing.
_held_dll = ctypes.PyDLL(str(ffi.filename))
_func_call = _held_dll.wasmtime_func_call
_func_call.restype = ctypes.POINTER(ffi.wasmtime_error_t)
_func_call.argtypes = [
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.POINTER(ffi.wasmtime_func_t),
    ctypes.POINTER(ffi.wasmtime_val_t),
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_val_t),
    ctypes.c_size_t,
    ctypes.POINTER(ctypes.POINTER(ffi.wasm_trap_t)),
]


def call_start(store: wasmtime.Store, func: wasmtime.Func) -> None:
    """Call a ``() -> ()`` export (``_start``); raise wasmtime's Trap or WasmtimeError."""
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = _func_call(
        store._context(), ctypes.byref(func._func), None, 0, None, 0, ctypes.byref(trap)
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)
