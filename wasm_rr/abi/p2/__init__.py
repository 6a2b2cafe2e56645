"""The WASI 0.2 component host: every ``wasi:*`` interface a command uses, answered through
the same world as the preview1 host, with raw component callbacks.

``run_component(guest, world)`` compiles the component, links the host (``wasi:cli``,
``wasi:io``, ``wasi:clocks``, ``wasi:random``, ``wasi:filesystem``, outgoing ``wasi:http``;
anything else, such as sockets, traps when called), calls ``wasi:cli/run@0.2.x#run`` and
returns the outcome. Exits and traps are outcomes; any other exception a host function raised
(a drift error, an interrupt) is re-raised unchanged once the call into wasm has returned.

Layout: ``canon`` reads and writes component values through the C API; ``host`` registers raw
callbacks and host resources; ``wit`` holds the WASI types and error mappings; one module per
area (``io``, ``clocks``, ``random``, ``cli``, ``filesystem``, ``http``) decodes a call, asks
``world.<family>``, encodes the answer. Every interface is registered under the exact
``@0.2.x`` versions the component imports (any of 0.2.0 to 0.2.12: they are compatible), so
that only what the host really lacks is left to ``define_unknown_imports_as_traps``.
"""

from __future__ import annotations

import ctypes
import re

import wasmtime
from wasmtime import component

from ...errors import GuestLoadError
from ...trace.schema import Outcome
from ...world import World
from .. import interrupt
from .._wasmtime import call_component
from ..engines import GuestCode, compile_component, component_engine, first_line, meter
from ..outcome import OUT_OF_FUEL_MESSAGE, last_line, settle
from . import canon, cli, clocks, filesystem, http, http_client, io, process, random
from .host import ComponentHost

__all__ = ["build_host", "run_component"]

_RUN = re.compile(r"wasi:cli/run@0\.2\.\d+")
_WASI_02 = re.compile(r"(wasi:[a-z0-9-]+/[a-z0-9-]+)@(0\.2\.\d+)")


def build_host(world: World, stock_hot: bool = False) -> ComponentHost:
    """A host with every interface defined, answering through ``world``. With ``stock_hot``,
    the clock reads and ``get-random-bytes`` go through wasmtime-py's ``add_func`` instead of
    raw callbacks (for the benchmark)."""
    host = ComponentHost()
    io.define(host, world)
    clocks.define(host, world)
    random.define(host, world)
    cli.define(host, world)
    filesystem.define(host, world)
    process.define(host, world)
    http.define(host, world)
    http_client.define(host, world)
    if stock_hot:
        clocks.define_stock(host, world)
        random.define_stock(host, world)
    return host


def wasi_versions(comp: component.Component, engine: wasmtime.Engine) -> dict[str, list[str]]:
    """The ``wasi:*@0.2.x`` interfaces ``comp`` imports: name -> the versions it imports."""
    found: dict[str, list[str]] = {}
    for name in comp.type.imports(engine):
        m = _WASI_02.fullmatch(name)
        if m is not None:
            found.setdefault(m.group(1), []).append(m.group(2))
    return found


def _out_of_fuel(exc: wasmtime.WasmtimeError) -> bool:
    return last_line(str(exc)).removeprefix("wasm trap: ") == OUT_OF_FUEL_MESSAGE


def run_component(guest: GuestCode, world: World, *, stock_hot: bool = False) -> Outcome:
    """Run a WASI 0.2 command component against ``world`` (``stock_hot``: see
    :func:`build_host`)."""
    engine = component_engine()
    comp = compile_component(guest)
    runs = [n for n in comp.type.exports(engine) if _RUN.fullmatch(n)]
    if not runs:
        raise GuestLoadError(
            f"{guest.path} is not a WASI 0.2 command: it exports no `wasi:cli/run@0.2.x`"
        )
    store = wasmtime.Store(engine)
    interrupt.attach(store, engine)
    meter(store, world)
    try:
        return _run(guest, world, stock_hot, engine, comp, runs[0], store)
    finally:
        world.keep_fuel()  # while the store lives: its fuel cell goes with it


def _run(
    guest: GuestCode,
    world: World,
    stock_hot: bool,
    engine: wasmtime.Engine,
    comp: component.Component,
    run: str,
    store: wasmtime.Store,
) -> Outcome:
    linker = component.Linker(engine)
    host = build_host(world, stock_hot)
    host.link(linker, wasi_versions(comp, engine))
    # The store keeps the host (and so its ctypes callbacks) alive until the store itself has
    # been dropped by wasmtime, whatever order the locals here are released in.
    setattr(store, "_wasm_rr_host", host)  # noqa: B010
    try:
        linker.define_unknown_imports_as_traps(comp)
        instance = linker.instantiate(store, comp)
    except wasmtime.WasmtimeError as exc:
        interrupt.check()
        if host.pending is not None or (world.fuel_limit is not None and _out_of_fuel(exc)):
            # A host call's trap, or a replay stopping where its recording was stopped.
            return settle(host.pending, exc, codes_from_message=True)
        raise GuestLoadError(f"{guest.path} cannot be instantiated: {first_line(exc)}") from None
    run_iface = comp.get_export_index(run)
    run_index = comp.get_export_index("run", run_iface) if run_iface is not None else None
    func = instance.get_func(store, run_index) if run_index is not None else None
    if func is None:
        raise GuestLoadError(f"{guest.path}: `{run}` exports no function `run`")
    result = ctypes.create_string_buffer(canon.VAL_SIZE)
    try:
        call_component(store, func, ctypes.addressof(result), 1)
    except wasmtime.WasmtimeError as failure:
        interrupt.check()  # stopped by Ctrl-C or --timeout: that is no outcome
        return settle(host.pending, failure, codes_from_message=True)
    raw = result.raw
    failed = raw[0] == canon.RESULT and raw[8] == 0
    return Outcome(exit_code=1 if failed else 0)
