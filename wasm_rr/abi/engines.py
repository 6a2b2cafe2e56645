"""The wasmtime engines guests run in, and compiling a guest for one.

One engine per kind of guest for the life of the process, so that a guest compiled once is
reused by every later run (and :mod:`wasm_rr.compiled` keeps the compiled code on disk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import wasmtime

from ..compiled import compiled
from ..errors import GuestLoadError
from ._wasmtime import disable_concurrency_support, fuel_cell

if TYPE_CHECKING:
    from wasmtime import component

    from ..world import World


class GuestCode(Protocol):
    """What compiling needs of a guest (``wasm_rr.engine.Guest`` is one)."""

    @property
    def path(self) -> str: ...

    @property
    def wasm(self) -> bytes: ...

    @property
    def cache(self) -> str:
        """What the on-disk compile cache may do for this run: ``rw``, or ``r`` (replay)."""
        ...


def engine_config() -> wasmtime.Config:
    """What every guest runs with: fuel metering on (events carry instruction counts),
    memories that never move (a cached view of guest memory stays valid), NaNs canonicalised,
    epoch interruption (Ctrl-C and ``--timeout`` stop a spinning guest: see
    :mod:`wasm_rr.abi.interrupt`)."""
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.memory_may_move = False
    config.cranelift_nan_canonicalization = True
    return config


MODULE_SETTINGS = "fuel-fixedmem-nan-epoch"
"""The engine settings as named in the compile cache's keys: change it with the settings."""
COMPONENT_SETTINGS = MODULE_SETTINGS + "-noasync"

_MODULE_ENGINE: wasmtime.Engine | None = None
_COMPONENT_ENGINE: wasmtime.Engine | None = None


def module_engine() -> wasmtime.Engine:
    """The one core-module engine of this process."""
    global _MODULE_ENGINE
    if _MODULE_ENGINE is None:
        _MODULE_ENGINE = wasmtime.Engine(engine_config())
    return _MODULE_ENGINE


def component_engine() -> wasmtime.Engine:
    """The engine for components: the core-module engine's settings (fuel, fixed memory base,
    NaN canonicalisation), with the component model's concurrency support off.

    With concurrency support on (wasmtime 50's default), a dynamically defined host function
    (``func_new``, which both wasmtime-py's ``add_func`` and our raw callbacks use) cannot
    receive two borrowed handles in one call: lifting the second one fails inside wasmtime
    with "BUG: deferred host scope has no call context". WASI 0.2 has several such functions
    (``rename-at``, ``link-at``, ``is-same-object``, ``splice``, ``poll`` of two or more
    pollables). Nothing in WASI 0.2 needs the concurrency support.
    """
    global _COMPONENT_ENGINE
    if _COMPONENT_ENGINE is None:
        config = engine_config()
        disable_concurrency_support(config)
        _COMPONENT_ENGINE = wasmtime.Engine(config)
    return _COMPONENT_ENGINE


def compile_module(guest: GuestCode) -> wasmtime.Module:
    """The guest compiled (see :mod:`wasm_rr.compiled`: once per process, cached on disk)."""
    engine = module_engine()

    def compile() -> wasmtime.Module:
        try:
            return wasmtime.Module(engine, guest.wasm)
        except wasmtime.WasmtimeError as exc:
            raise GuestLoadError(
                f"{guest.path} does not compile: {str(exc).splitlines()[0]}"
            ) from None

    return compiled(engine, guest.wasm, wasmtime.Module, MODULE_SETTINGS, compile, guest.cache)


def meter(store: wasmtime.Store, world: World) -> None:
    """Count the store's instructions for ``world`` (its events are stamped with them), with
    the fuel ``world.fuel_limit`` gives (a replay that must stop where its recording does)."""
    cell = fuel_cell(store)
    if world.fuel_limit is not None:
        store.set_fuel(world.fuel_limit)
    world.attach_fuel(cell)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def compile_component(guest: GuestCode) -> component.Component:
    """The component compiled (once per process, cached on disk)."""
    from wasmtime import component

    engine = component_engine()

    def compile() -> component.Component:
        try:
            return component.Component(engine, guest.wasm)
        except wasmtime.WasmtimeError as exc:
            raise GuestLoadError(f"{guest.path} does not compile: {first_line(exc)}") from None

    return compiled(
        engine, guest.wasm, component.Component, COMPONENT_SETTINGS, compile, guest.cache
    )


__all__ = [
    "COMPONENT_SETTINGS",
    "MODULE_SETTINGS",
    "GuestCode",
    "compile_component",
    "compile_module",
    "component_engine",
    "engine_config",
    "first_line",
    "meter",
    "module_engine",
]
