"""``wasi:random``: random, insecure and insecure-seed through ``world.random``.

``get-random-bytes`` is a hot path: the length is read in place and the bytes lowered with one
strided copy. ``insecure-seed`` is 16 insecure bytes (two little-endian u64s), so it is
recorded and replayed like any other insecure draw.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable

from ...world import World
from .. import _wasmtime
from ..outcome import GuestTrap
from . import canon
from .canon import BYTES_T, U64_T
from .host import ComponentHost, RawCallback
from .wit import iface

_U64 = struct.Struct("<Q")
_QQ = struct.Struct("<QQ")

MAX_LEN = 1 << 26
"""The largest draw answered at once (64 MiB): a guest asking for more traps instead of making
the host allocate it (and the trace hold it)."""


def define(host: ComponentHost, world: World) -> None:
    secure = world.random.secure
    insecure = world.random.insecure

    def _len(n: int) -> int:
        if n > MAX_LEN:
            raise GuestTrap(f"random: {n} bytes requested at once (more than {MAX_LEN})")
        return n

    rand = iface("wasi:random/random")
    host.raw(rand, "get-random-bytes", _bytes_body(host, secure, _len))
    host.func(rand, "get-random-u64", [], U64_T, lambda: _U64.unpack(secure(8))[0])

    ins = iface("wasi:random/insecure")
    host.func(ins, "get-insecure-random-bytes", [U64_T], BYTES_T, lambda n: insecure(_len(n)))
    host.func(ins, "get-insecure-random-u64", [], U64_T, lambda: _U64.unpack(insecure(8))[0])

    seed = iface("wasi:random/insecure-seed")
    host.func(
        seed,
        "insecure-seed",
        [],
        canon.Tuple(U64_T, U64_T),
        lambda: _QQ.unpack(insecure(16)),
    )


def _bytes_body(
    host: ComponentHost, secure: Callable[[int], bytes], check: Callable[[int], int]
) -> RawCallback:
    """``get-random-bytes(len) -> list<u8>`` as a raw callback (see :meth:`ComponentHost.raw`):
    the length is read in place; the bytes go into a cached buffer of u8 values (one strided
    copy) that ``wasmtime_component_vallist_new`` copies into the result. The argument and
    result arrays are reached through views rebuilt only when their address changes, and the
    C call gets ready-made ctypes arguments: on an 8-byte draw these costs, not the bytes,
    are what counts."""
    lists = canon._U8_LISTS
    u8_list = canon.u8_list
    vallist_new = _wasmtime.vallist_new_raw
    stride = canon.VAL_SIZE
    short = canon.SHORT
    kind = canon.LIST
    elems = slice(8, None, stride)  # the byte of each u8 value
    fail = host.fail
    view_at = canon.view_at
    args_at = -1
    args_u64 = view_at(0, 0).cast("Q")
    results_at = -1
    results_view = view_at(0, 0)
    payload = ctypes.c_void_p(0)

    def callback(
        env: int, ctx: int, ty: int, args: int, nargs: int, results: int, nresults: int
    ) -> int:
        nonlocal args_at, args_u64, results_at, results_view, payload
        try:
            if args != args_at:
                args_u64 = view_at(args, 1).cast("Q")
                args_at = args
            n = args_u64[1]  # the u64 payload at offset 8
            if n > MAX_LEN:
                check(n)
            data = secure(n)
            lst = lists.get(n) or u8_list(n)
            if n <= short:
                if n:
                    lst.view[elems] = data
            else:
                lst.buf[elems] = data
            if results != results_at:
                results_view = view_at(results, 1)
                payload = ctypes.c_void_p(results + 8)
                results_at = results
            vallist_new(payload, lst.c_n, lst.c_addr)
            results_view[0] = kind
        except BaseException as exc:  # every exception: see ComponentHost.raw
            return fail(exc)
        return 0

    return callback


def define_stock(host: ComponentHost, world: World) -> None:
    """``get-random-bytes`` through wasmtime-py's ``add_func`` (the benchmark's reference)."""
    host.stock(iface("wasi:random/random"), "get-random-bytes", world.random.secure)


__all__ = [
    "MAX_LEN",
    "define",
    "define_stock",
]
