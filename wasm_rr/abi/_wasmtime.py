"""Every use of wasmtime-py's private API, in one place.

wasm-rr's hosts bypass wasmtime-py where it is too slow (raw C-API host functions, component
values read and written in place, ``wasmtime_func_call`` keeping the GIL, the store's fuel
counter read from memory) or incomplete (the wasm frames of a component trap, the component
model's concurrency support switched off). That needs what wasmtime-py keeps private: its
ctypes bindings (``wasmtime._ffi``: the library, its C types), ``wasmtime._trap``'s frame
list, ``Store._context()``, ``Func._func``, ``Managed.ptr()``, ``WasmtimeError._from_ptr``,
and C functions of the wasmtime library looked up by name.

Nothing else in ``wasm_rr`` touches any of it (``tests/abi/test_private_api.py`` checks the
sources). This module checks at import that everything it needs is there, in the wasmtime
version it was written for, and raises one :class:`~wasm_rr.errors.HostSetupError` naming what
is missing otherwise.
"""

from __future__ import annotations

import ctypes
import struct
from typing import TYPE_CHECKING, Any

import wasmtime

if TYPE_CHECKING:
    # Imported when a component is first run (``check_component_api``): importing it costs
    # a plain module run about 13 ms of start-up.
    from wasmtime import component

from ..errors import HostSetupError
from ..versions import installed

WRITTEN_FOR = "50"
"""The wasmtime-py major version this module was written (and its fuel probe sized) for."""

WASMTIME_VERSION = installed("wasmtime")


def _fail(missing: list[str]) -> HostSetupError:
    return HostSetupError(
        f"wasm-rr cannot run on the installed wasmtime-py {WASMTIME_VERSION} (it is written for "
        f"{WRITTEN_FOR}.x): missing {', '.join(missing)}; install wasmtime=={WRITTEN_FOR}.*"
    )


if WASMTIME_VERSION.split(".")[0] != WRITTEN_FOR:
    raise _fail([f"wasmtime {WRITTEN_FOR}.x"])

try:
    from wasmtime import _ffi as ffi
    from wasmtime import _trap as trap_module
except ImportError as exc:
    raise _fail([f"module {exc.name or 'wasmtime._ffi / wasmtime._trap'}"]) from None

_ATTRIBUTES: list[tuple[Any, str, str]] = [
    (ffi, "dll", "wasmtime._ffi.dll"),
    (ffi, "filename", "wasmtime._ffi.filename"),
    (ffi, "wasmtime_error_t", "wasmtime._ffi.wasmtime_error_t"),
    (ffi, "wasmtime_context_t", "wasmtime._ffi.wasmtime_context_t"),
    (ffi, "wasmtime_func_t", "wasmtime._ffi.wasmtime_func_t"),
    (ffi, "wasmtime_val_t", "wasmtime._ffi.wasmtime_val_t"),
    (ffi, "wasm_trap_t", "wasmtime._ffi.wasm_trap_t"),
    (ffi, "wasmtime_component_func_t", "wasmtime._ffi.wasmtime_component_func_t"),
    (ffi, "wasmtime_error_wasm_trace", "wasmtime._ffi.wasmtime_error_wasm_trace"),
    (trap_module, "FrameList", "wasmtime._trap.FrameList"),
    (trap_module, "Frame", "wasmtime._trap.Frame"),
    (wasmtime.Frame, "_from_ptr", "wasmtime.Frame._from_ptr"),
    (wasmtime.Store, "_context", "wasmtime.Store._context"),
    (wasmtime.Store, "ptr", "wasmtime.Store.ptr"),
    (wasmtime.WasmtimeError, "_from_ptr", "wasmtime.WasmtimeError._from_ptr"),
    (wasmtime.WasmtimeError, "ptr", "wasmtime.WasmtimeError.ptr"),
    (wasmtime.Trap, "_from_ptr", "wasmtime.Trap._from_ptr"),
    (wasmtime.Config, "ptr", "wasmtime.Config.ptr"),
    (wasmtime.Linker, "ptr", "wasmtime.Linker.ptr"),
    (wasmtime.FuncType, "ptr", "wasmtime.FuncType.ptr"),
]


def _absent(attributes: list[tuple[Any, str, str]], funcs: list[type]) -> list[str]:
    """What of ``attributes`` is missing, and which of ``funcs`` has no ``_func``."""
    missing = [what for obj, name, what in attributes if not hasattr(obj, name)]
    for cls in funcs:
        if "_func" not in getattr(cls, "__annotations__", {}):
            missing.append(f"{cls.__module__}.{cls.__qualname__}._func")
    return missing


_missing = _absent(_ATTRIBUTES, [wasmtime.Func])
if _missing:
    raise _fail(_missing)

_component_api_checked = False


def check_component_api() -> None:
    """Check what the component host needs of ``wasmtime.component`` (imported here, not at
    import: a core module's run never needs it); raise :class:`HostSetupError` naming what
    is missing. Called before the first component engine is made."""
    global _component_api_checked
    if _component_api_checked:
        return
    from wasmtime import component

    missing = _absent(
        [(component.LinkerInstance, "ptr", "wasmtime.component.LinkerInstance.ptr")],
        [component.Func],
    )
    if missing:
        raise _fail(missing)
    _component_api_checked = True


_P = ctypes.c_void_p
_dll: Any = ffi.dll
# The same library loaded through PyDLL: a call keeps the GIL. Host callbacks then find the GIL
# already held instead of re-acquiring it (about 0.2 us per host call saved); nothing else runs
# Python while the guest runs, so holding it costs nothing.
_held: Any = ctypes.PyDLL(str(ffi.filename))


def _c(name: str, restype: Any = None, *argtypes: Any, held: bool = True) -> Any:
    """A C function of the wasmtime library, typed (no ``argtypes``: untyped, ctypes objects
    passed as they are). ``CDLL.__getitem__`` returns a fresh function object, so these
    argtypes do not disturb wasmtime-py's own bindings."""
    try:
        fn = (_held if held else _dll)[name]
    except AttributeError:
        _missing.append(f"C function {name}")
        return None
    fn.restype = restype
    fn.argtypes = list(argtypes) if argtypes else None
    return fn


# ---- core modules --------------------------------------------------------------------------------

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_size_t, _P, _P, _P, ctypes.c_size_t)
"""wasmtime_func_unchecked_callback_t: (env, caller, args_and_results, nargs_and_results)."""

_define_unchecked = _c(
    "wasmtime_linker_define_func_unchecked",
    _P,
    _P,
    ctypes.c_char_p,
    ctypes.c_size_t,
    ctypes.c_char_p,
    ctypes.c_size_t,
    _P,
    CALLBACK,
    _P,
    _P,
    held=False,
)
_trap_new = _c("wasmtime_trap_new", _P, ctypes.c_char_p, ctypes.c_size_t, held=False)
_store_context = _c("wasmtime_store_context", _P, _P, held=False)
_get_fuel = _c("wasmtime_context_get_fuel", _P, _P, _P, held=False)
_func_call = _c(
    "wasmtime_func_call",
    ctypes.POINTER(ffi.wasmtime_error_t),
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.POINTER(ffi.wasmtime_func_t),
    ctypes.POINTER(ffi.wasmtime_val_t),
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_val_t),
    ctypes.c_size_t,
    ctypes.POINTER(ctypes.POINTER(ffi.wasm_trap_t)),
)

# ---- components ----------------------------------------------------------------------------------

byte_vec_new = _c("wasm_byte_vec_new", None, _P, ctypes.c_size_t, ctypes.c_char_p)
vallist_new_uninit = _c("wasmtime_component_vallist_new_uninit", None, _P, ctypes.c_size_t)
vallist_new = _c("wasmtime_component_vallist_new", None, _P, ctypes.c_size_t, _P)
vallist_new_raw = _c("wasmtime_component_vallist_new")
"""``vallist_new`` without argument types, for hot paths: every argument must already be a
ctypes object (``c_void_p`` out, ``c_size_t`` size, ``c_void_p`` values), passed as is
(converting three Python ints costs more than the call itself)."""
valrecord_new_uninit = _c("wasmtime_component_valrecord_new_uninit", None, _P, ctypes.c_size_t)
valrecord_copy = _c("wasmtime_component_valrecord_copy", None, _P, _P)
valtuple_new_uninit = _c("wasmtime_component_valtuple_new_uninit", None, _P, ctypes.c_size_t)
valflags_new_uninit = _c("wasmtime_component_valflags_new_uninit", None, _P, ctypes.c_size_t)
val_new = _c("wasmtime_component_val_new", _P, _P)
val_delete = _c("wasmtime_component_val_delete", None, _P)
any_to_host = _c("wasmtime_component_resource_any_to_host", _P, _P, _P, _P)
any_delete = _c("wasmtime_component_resource_any_delete", None, _P)
host_new = _c(
    "wasmtime_component_resource_host_new", _P, ctypes.c_bool, ctypes.c_uint32, ctypes.c_uint32
)
host_rep = _c("wasmtime_component_resource_host_rep", ctypes.c_uint32, _P)
host_delete = _c("wasmtime_component_resource_host_delete", None, _P)
host_to_any = _c("wasmtime_component_resource_host_to_any", _P, _P, _P, _P)
error_new = _c("wasmtime_error_new", _P, ctypes.c_char_p)
resource_type_new_host = _c("wasmtime_component_resource_type_new_host", _P, ctypes.c_uint32)
resource_type_delete = _c("wasmtime_component_resource_type_delete", None, _P)

FUNC_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_size_t, _P, _P, _P, _P, ctypes.c_size_t, _P, ctypes.c_size_t
)
"""wasmtime_component_func_callback_t: (env, context, type, args, nargs, results, nresults)."""
DTOR_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_size_t, _P, _P, ctypes.c_uint32)
"""wasmtime_component_resource_destructor_t: (env, context, rep)."""

add_func = _c(
    "wasmtime_component_linker_instance_add_func",
    _P,
    _P,
    ctypes.c_char_p,
    ctypes.c_size_t,
    FUNC_CALLBACK,
    _P,
    _P,
)
add_resource = _c(
    "wasmtime_component_linker_instance_add_resource",
    _P,
    _P,
    ctypes.c_char_p,
    ctypes.c_size_t,
    _P,
    DTOR_CALLBACK,
    _P,
    _P,
)
_component_call = _c(
    "wasmtime_component_func_call",
    _P,
    ctypes.POINTER(ffi.wasmtime_component_func_t),
    _P,
    _P,
    ctypes.c_size_t,
    _P,
    ctypes.c_size_t,
)
_concurrency_support_set = _c("wasmtime_config_concurrency_support_set", None, _P, ctypes.c_bool)

# ---- epochs --------------------------------------------------------------------------------------

DEADLINE_CALLBACK = ctypes.CFUNCTYPE(
    _P, _P, _P, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint8)
)
"""The epoch deadline callback: (context, env, *deadline_delta, *update_kind) -> error or NULL."""
_deadline_callback = _c(
    "wasmtime_store_epoch_deadline_callback", None, _P, DEADLINE_CALLBACK, _P, _P, held=False
)
_increment_epoch = _c("wasmtime_engine_increment_epoch", None, _P, held=False)

if _missing:
    raise _fail(_missing)


# ---- errors and traps ----------------------------------------------------------------------------


def error_from_ptr(err: int) -> wasmtime.WasmtimeError:
    """The :class:`wasmtime.WasmtimeError` owning the ``wasmtime_error_t *`` a C call returned."""
    return wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t)))


def check_error(err: int | None) -> None:
    """Raise the wasmtime error a C call returned, if any."""
    if err:
        raise error_from_ptr(err)


def new_trap(message: bytes) -> int:
    """A new ``wasm_trap_t *`` (for a host callback to return: wasmtime takes it over)."""
    return int(_trap_new(message, len(message)))


def error_frames(err: wasmtime.WasmtimeError) -> list[wasmtime.Frame]:
    """The wasm frames of an error (a component's trap arrives as an error, without frames)."""
    holder = trap_module.FrameList(err)
    ffi.wasmtime_error_wasm_trace(err.ptr(), ctypes.byref(holder.vec))
    return [trap_module.Frame._from_ptr(holder.vec.data[i], holder) for i in range(holder.vec.size)]


# ---- engines, linkers, calls ---------------------------------------------------------------------


def disable_concurrency_support(config: wasmtime.Config) -> None:
    """Switch the component model's concurrency support off (wasmtime-py has no setter)."""
    check_component_api()
    _concurrency_support_set(ctypes.cast(config.ptr(), _P), False)


def define_func_unchecked(
    linker: wasmtime.Linker, module: bytes, name: bytes, functype: wasmtime.FuncType, cb: Any
) -> None:
    """Define ``module.name`` on a core linker as the raw callback ``cb`` (a :data:`CALLBACK`)."""
    err = _define_unchecked(
        ctypes.cast(linker.ptr(), _P),
        module,
        len(module),
        name,
        len(name),
        ctypes.cast(functype.ptr(), _P),
        cb,
        None,
        None,
    )
    check_error(err)


def instance_address(inst: component.LinkerInstance) -> int | None:
    """The ``wasmtime_component_linker_instance_t *`` of a linker instance."""
    address: int | None = ctypes.cast(inst.ptr(), _P).value
    return address


def call_start(store: wasmtime.Store, func: wasmtime.Func) -> None:
    """Call a ``() -> ()`` export (``_start``), keeping the GIL; raise wasmtime's Trap or
    WasmtimeError."""
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = _func_call(
        store._context(), ctypes.byref(func._func), None, 0, None, 0, ctypes.byref(trap)
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)


def call_component(store: wasmtime.Store, func: component.Func, results: int, n: int) -> None:
    """Call a component function taking no arguments, keeping the GIL; its ``n`` results are
    written at address ``results``. Raise wasmtime's error."""
    err = _component_call(ctypes.byref(func._func), store._context(), None, 0, results, n)
    check_error(err)


# ---- fuel ----------------------------------------------------------------------------------------

FUEL_BUDGET = 1 << 62
"""Fuel given to a guest: far more than any run can use, so fuel never runs out."""


class ApiFuel:
    """Fuel consumed so far, through the C API (used when the fast cell cannot be located)."""

    def __init__(self, store: wasmtime.Store) -> None:
        self._ctx = _store_context(ctypes.cast(store.ptr(), _P))
        self._out = ctypes.c_uint64()
        self._ref = ctypes.addressof(self._out)

    def __getitem__(self, index: int) -> int:
        _get_fuel(self._ctx, self._ref)
        return FUEL_BUDGET - self._out.value


_FUEL_OFFSET: int | None = None
"""Where the fuel counter was found in the last store's context (the layout is the same for
every store of this wasmtime build; it is checked again each time)."""


def fuel_cell(store: wasmtime.Store) -> Any:
    """A cell whose ``[0]`` is the fuel consumed so far, read in about 40 ns.

    Wasmtime keeps the store's fuel as a negative "injected fuel" i64 inside the store context,
    which compiled code updates before every host call. Its offset is found by setting two
    distinct fuel amounts and looking for both at the same place; if that fails (another
    wasmtime build), the C API is used instead. Either way the store ends with FUEL_BUDGET.
    """
    global _FUEL_OFFSET
    ctx = _store_context(ctypes.cast(store.ptr(), _P))
    probes = (0x1234_5678_9ABC_D, 0x0FED_CBA9_8765_4)
    known = _FUEL_OFFSET
    if known is not None:
        # Where it was in the last store: checked with both probes, not assumed.
        store.set_fuel(probes[0])
        if ctypes.c_int64.from_address(ctx + known).value == -probes[0]:
            store.set_fuel(FUEL_BUDGET)
            if ctypes.c_int64.from_address(ctx + known).value == -FUEL_BUDGET:
                return memoryview((ctypes.c_char * 8).from_address(ctx + known)).cast("B").cast("q")
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
    _FUEL_OFFSET = offset
    return memoryview((ctypes.c_char * 8).from_address(ctx + offset)).cast("B").cast("q")


# ---- epoch interruption --------------------------------------------------------------------------


def on_epoch_deadline(store: wasmtime.Store, callback: Any) -> None:
    """Call ``callback`` (a :data:`DEADLINE_CALLBACK`) each time the store's epoch deadline is
    reached; it answers NULL and a new deadline to go on, or an error to trap."""
    _deadline_callback(ctypes.cast(store.ptr(), _P), callback, None, None)


def new_error(message: bytes) -> int:
    """A new ``wasmtime_error_t *`` (for a callback to return: wasmtime takes it over)."""
    return int(error_new(message))


class _Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("interval", _Timespec), ("value", _Timespec)]


class _Sigevent(ctypes.Structure):
    # glibc's struct sigevent with SIGEV_THREAD: value, signo, notify, function, attributes.
    _fields_ = [
        ("value", _P),
        ("signo", ctypes.c_int),
        ("notify", ctypes.c_int),
        ("function", _P),
        ("attributes", _P),
        ("pad", ctypes.c_int * 8),
    ]


_SIGEV_THREAD = 2
_CLOCK_MONOTONIC = 1


class EpochTicker:
    """Increments an engine's epoch every ``interval`` seconds from a native timer thread.

    A guest runs with the GIL held (see ``_held``), so no Python thread can run meanwhile. The
    timer is glibc's ``timer_create`` with ``SIGEV_THREAD`` calling
    ``wasmtime_engine_increment_epoch(engine)`` itself: no Python runs on that thread. Where
    that is not available (not glibc), ``start`` returns False and nothing ticks.
    """

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._timer = ctypes.c_void_p()
        self._libc: Any = None

    def start(self, interval: float) -> bool:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            create, settime = libc.timer_create, libc.timer_settime
        except (OSError, AttributeError):
            return False
        event = _Sigevent()
        event.value = ctypes.cast(self._engine.ptr(), _P).value
        event.notify = _SIGEV_THREAD
        event.function = ctypes.cast(_increment_epoch, _P).value
        if create(_CLOCK_MONOTONIC, ctypes.byref(event), ctypes.byref(self._timer)) != 0:
            return False
        sec, frac = divmod(interval, 1.0)
        every = _Timespec(int(sec), int(frac * 1e9))
        settime(self._timer, 0, ctypes.byref(_Itimerspec(every, every)), None)
        self._libc = libc
        # The timer's thread may be inside increment_epoch when the timer is paused or deleted
        # (neither waits for it), so the engine must never be freed, not even when the
        # interpreter shuts down: one reference is kept for the life of the process.
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(self._engine))
        return True

    def pause(self) -> None:
        """Stop ticking until :meth:`resume` (the timer is kept: re-arming it is one call)."""
        if self._libc is not None:
            self._libc.timer_settime(self._timer, 0, ctypes.byref(_Itimerspec()), None)

    def resume(self, interval: float) -> None:
        if self._libc is not None:
            sec, frac = divmod(interval, 1.0)
            every = _Timespec(int(sec), int(frac * 1e9))
            self._libc.timer_settime(self._timer, 0, ctypes.byref(_Itimerspec(every, every)), None)

    def stop(self) -> None:
        if self._libc is not None:
            self._libc.timer_delete(self._timer)
            self._libc = None
