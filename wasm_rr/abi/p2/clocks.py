"""``wasi:clocks``: wall-clock and monotonic-clock through ``world.clocks`` (ids 0 and 1).

``now`` of both clocks is a hot path: the value goes straight into the result slot (the
wall-clock ``datetime`` record is deep-copied from a template holding its field names).
``subscribe-duration`` reads the monotonic clock once, as wasmtime does, so that the pollable
has a fixed deadline however often it is polled.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable

from ...world import World
from ...world.clocks import MONOTONIC, REALTIME
from .. import _wasmtime
from . import canon
from .canon import U64_T
from .host import ComponentHost, RawCallback
from .io import READY, ClockPollable, Pollable
from .wit import DATETIME, POLLABLE, iface

NS = 1_000_000_000
_U64_VAL = struct.Struct("<B7xQ")
_U32_VAL = struct.Struct("<B7xI")


def define(host: ComponentHost, world: World) -> None:
    now = world.clocks.now
    resolution = world.clocks.resolution
    own_pollable = canon.Own(POLLABLE)

    mono = iface("wasi:clocks/monotonic-clock")
    host.raw(mono, "now", _mono_now(host, now))
    host.func(mono, "resolution", [], U64_T, lambda: resolution(MONOTONIC))

    def subscribe_instant(when: int) -> Pollable:
        return ClockPollable(when)

    def subscribe_duration(duration: int) -> Pollable:
        if duration == 0:
            return READY
        return ClockPollable(now(MONOTONIC) + duration)

    host.func(mono, "subscribe-instant", [U64_T], own_pollable, subscribe_instant)
    host.func(mono, "subscribe-duration", [U64_T], own_pollable, subscribe_duration)

    wall = iface("wasi:clocks/wall-clock")
    host.raw(wall, "now", _wall_now(host, now))

    def wall_resolution() -> tuple[int, int]:
        ns = resolution(REALTIME)
        return ns // NS, ns % NS

    host.func(wall, "resolution", [], DATETIME, wall_resolution)


def _mono_now(host: ComponentHost, now: Callable[[int], int]) -> RawCallback:
    """``monotonic-clock.now`` as a raw callback (see :meth:`ComponentHost.raw`)."""
    pack = _U64_VAL.pack_into
    fail = host.fail
    view_at = canon.view_at
    results_at = -1
    results_view = view_at(0, 0)

    def callback(
        env: int, ctx: int, ty: int, args: int, nargs: int, results: int, nresults: int
    ) -> int:
        nonlocal results_at, results_view
        try:
            if results != results_at:
                results_view = view_at(results, 1)
                results_at = results
            pack(results_view, 0, canon.U64, now(MONOTONIC))
        except BaseException as exc:  # every exception: see ComponentHost.raw
            return fail(exc)
        return 0

    return callback


def _wall_now(host: ComponentHost, now: Callable[[int], int]) -> RawCallback:
    """The datetime record: the two field values are written into the template's entries
    (through a memoryview), then the template is deep-copied into the result."""
    template = DATETIME.template_address()
    entries = memoryview(
        (ctypes.c_char * (2 * canon.ENTRY_SIZE)).from_address(DATETIME.entries_address())
    ).cast("B")
    pack64 = _U64_VAL.pack_into
    pack32 = _U32_VAL.pack_into
    copy = _wasmtime.valrecord_copy
    seconds_at = canon.NAME_SIZE
    nanos_at = canon.ENTRY_SIZE + canon.NAME_SIZE

    fail = host.fail
    view_at = canon.view_at
    results_at = -1
    results_view = view_at(0, 0)

    def callback(
        env: int, ctx: int, ty: int, args: int, nargs: int, results: int, nresults: int
    ) -> int:
        nonlocal results_at, results_view
        try:
            if results != results_at:
                results_view = view_at(results, 1)
                results_at = results
            s, ns = divmod(now(REALTIME), NS)
            pack64(entries, seconds_at, canon.U64, s)
            pack32(entries, nanos_at, canon.U32, ns)
            copy(results + 8, template)
            results_view[0] = canon.RECORD
        except BaseException as exc:  # every exception: see ComponentHost.raw
            return fail(exc)
        return 0

    return callback


def define_stock(host: ComponentHost, world: World) -> None:
    """Both ``now`` functions through wasmtime-py's ``add_func`` (the benchmark's reference)."""
    from wasmtime import component

    now = world.clocks.now

    def wall_now() -> component.Record:
        s, ns = divmod(now(REALTIME), NS)
        record = component.Record()
        setattr(record, "seconds", s)  # noqa: B010 (a Record takes any attribute)
        setattr(record, "nanoseconds", ns)  # noqa: B010
        return record

    host.stock(iface("wasi:clocks/monotonic-clock"), "now", lambda: now(MONOTONIC))
    host.stock(iface("wasi:clocks/wall-clock"), "now", wall_now)


__all__ = [
    "NS",
    "define",
    "define_stock",
]
