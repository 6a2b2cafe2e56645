"""The ``wasi_snapshot_preview1`` host for core modules: decode guest memory, ask the world,
encode answers.

Every preview1 function is defined. Nothing here reads the outside world: each answer comes from
``world.<family>``, which is live, recording or replaying. Error values and descriptor numbers
follow wasmtime's own preview1 implementation (checked by ``tests/abi/p1/test_conformance.py``
and, for hostile arguments, ``tests/abi/test_hostile.py``).

Layout, like the component host (:mod:`wasm_rr.abi.p2`): ``types`` holds the witx types and
struct layouts; ``state`` what the areas share (:class:`~.state.Preview1Host`: the guest's
memory, the descriptor table, the linker); one module per area (``cli``, ``clocks``,
``random``, ``poll``, ``fs``, ``sockets``) with its ``SIGNATURES`` and a ``define(host,
world)``. Adding an area is adding its module and a line to :data:`AREAS`. The areas of
wasm-rr's own interfaces (``process``, ``http``) are imported only for a guest that imports
from them (:func:`on_import`), and so are their world families.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable
from typing import Protocol

import wasmtime

from ...errors import GuestLoadError
from ...trace.schema import Outcome
from ...world import World, WorldError
from .. import interrupt
from .._wasmtime import call_start
from ..engines import GuestCode, compile_module, meter, module_engine
from ..memory import GuestMemory
from ..outcome import HostErrorHook, WasmFailure, settle
from ..trampoline import AbiError, HostFunctions
from . import cli, clocks, fs, poll, random, sockets
from .state import Preview1Host
from .types import errno_of

__all__ = ["AREAS", "Preview1Host", "SiteRegister", "build_host", "error_result", "run_module"]

Define = Callable[[Preview1Host, World], None]


def on_import(module: str, area: str) -> Define:
    """The ``define`` of area ``area`` (a module of this package defining import module
    ``module``), imported only when the guest imports from ``module``."""

    def define(host: Preview1Host, world: World) -> None:
        imported = host.functions.imported
        if imported is not None and all(m != module for m, _ in imported):
            return
        found = importlib.import_module(f"{__name__}.{area}")
        assert module == found.MODULE, area
        found.define(host, world)

    define.__module__ = f"{__name__}.{area}"  # it stands for that module's define
    return define


AREAS: list[Define] = [
    cli.define,
    clocks.define,
    random.define,
    poll.define,
    fs.define,
    sockets.define,
    on_import("wasm-rr:process/process@0.1.0", "process"),
    on_import("wasm-rr:http/client@0.1.0", "http"),
]
"""Every area's ``define(host, world)``, in the order they are defined."""


_IMPORTS: weakref.WeakKeyDictionary[wasmtime.Module, frozenset[tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def module_imports(module: wasmtime.Module) -> frozenset[tuple[str, str]]:
    """The ``(module, name)`` pairs a compiled module imports (read once per module)."""
    found = _IMPORTS.get(module)
    if found is None:
        found = frozenset((i.module, i.name or "") for i in module.imports)
        _IMPORTS[module] = found
    return found


def error_result(exc: BaseException) -> int | None:
    """How an exception raised by a preview1 function reaches the guest: an errno, or a trap."""
    if type(exc) is AbiError:
        return exc.code
    if type(exc) is WorldError:
        return errno_of(exc.name)
    return None


def build_host(functions: HostFunctions, world: World) -> Preview1Host:
    """One instance's preview1 host: every area defined on ``functions``, answering through
    ``world``."""
    host = Preview1Host(functions, world)
    for define in AREAS:
        define(host, world)
    return host


class SiteRegister(Protocol):
    """A .tape program's site register (``wasm_rr.engine.SiteRegister``): bound to the guest's
    memory once it exists, read when the run ends."""

    def bind(self, mem: GuestMemory) -> None: ...

    def __call__(self) -> int: ...


def run_module(
    guest: GuestCode,
    world: World,
    register: SiteRegister | None = None,
    host_error: HostErrorHook | None = None,
) -> Outcome:
    """Run a preview1 command module against ``world``: its ``_start``, to an outcome (an exit
    or a trap); a host error (a drift, an interrupt) is re-raised, through ``host_error``."""
    engine = module_engine()
    module = compile_module(guest)
    store = wasmtime.Store(engine)
    interrupt.attach(store, engine)
    meter(store, world)
    try:
        return _run(guest, world, register, host_error, engine, module, store)
    finally:
        world.keep_fuel()  # while the store lives: its fuel cell goes with it


def _run(
    guest: GuestCode,
    world: World,
    register: SiteRegister | None,
    host_error: HostErrorHook | None,
    engine: wasmtime.Engine,
    module: wasmtime.Module,
    store: wasmtime.Store,
) -> Outcome:
    linker = wasmtime.Linker(engine)
    functions = HostFunctions(linker, error_result, module_imports(module))
    host = build_host(functions, world)
    linker.define_unknown_imports_as_traps(module)

    def end(exc: wasmtime.WasmtimeError | wasmtime.Trap) -> Outcome:
        interrupt.check()  # stopped by Ctrl-C or --timeout: that is no outcome
        # While the store is alive: the site register and the frames are read from it.
        site = register() if register is not None else None
        return settle(functions.pending, exc, site=site, host_error=host_error)

    try:
        instance = linker.instantiate(store, module)
    except WasmFailure as exc:
        # A trap in the start function is the guest's, like any other trap.
        if functions.pending is not None or isinstance(exc, wasmtime.Trap):
            return end(exc)
        raise GuestLoadError(
            f"{guest.path} cannot be instantiated: {str(exc).splitlines()[0]}"
        ) from None
    exports = instance.exports(store)
    realloc = exports.get("cabi_realloc")
    if isinstance(realloc, wasmtime.Func):
        host.realloc = lambda *args: int(realloc(store, *args))
    memory = exports.get("memory")
    if isinstance(memory, wasmtime.Memory):
        host.bind_memory(GuestMemory(store, memory))
        if register is not None:
            register.bind(host.mem)
    start = exports.get("_start")
    if not isinstance(start, wasmtime.Func):
        raise GuestLoadError(f"{guest.path} is not a command: it exports no `_start` function")
    try:
        if start.type(store).params or start.type(store).results:
            # Called as wasmtime-py's own WASI runs a command, with no arguments: one that
            # takes some fails as that call fails (a trap, exit 134), one that returns values
            # runs and they are dropped.
            start(store)
        else:
            call_start(store, start)
    except WasmFailure as exc:
        return end(exc)
    return Outcome(exit_code=0)
