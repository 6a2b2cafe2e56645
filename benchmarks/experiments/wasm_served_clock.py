"""Experiment (not part of wasm-rr, not in `make bench`): what a clock read costs to replay when
the answer is served from wasm instead of a Python host function.

Issue 12 asks for replay <= 0.5 us per event; an empty host function through wasm-rr's ctypes
trampoline already costs about 0.22 us, and the smallest Python replay body about 0.63 us. Here
the guest imports its memory, and its ``clock_time_get`` import is a function of a small shim
module that imports the same memory and owns a second one, the tape: (clock id, value) pairs.
The shim checks the clock id, stores the value at the guest's pointer and moves on; every
``BATCH`` reads it calls Python once to refill the tape from decoded trace items (running sums
per clock, as the replayer keeps them). What this leaves out, and a real design must add: the
guest rewritten to import its memory (a binary rewrite, shared by record so the compile cache
is), fuel checks per batch (the shim's own instructions are a known count per call), the
replayer's position synced when Python next runs, and the decoding and checking of the trace
(about 0.34 us per clock event today).

Run: ``.venv/bin/python benchmarks/experiments/wasm_served_clock.py``.
"""

from __future__ import annotations

import ctypes
import struct
import time

import wasmtime

N = 200_000
BATCH = 4096
GUEST = """(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $ct (param i32 i64 i32) (result i32)))
  (import "env" "memory" (memory 1))
  (func (export "run") (param $n i32) (local $i i32) (local $acc i64)
    (block (loop (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
      (drop (call $ct (i32.const 1) (i64.const 0) (i32.const 64)))
      (local.set $acc (i64.add (local.get $acc) (i64.load (i32.const 64))))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br 0)))
    (i64.store (i32.const 128) (local.get $acc))))"""
SHIM = """(module
  (import "env" "memory" (memory $g 1))
  (import "rr" "refill" (func $refill (result i32)))
  (memory $tape 2)
  (export "tape" (memory $tape))
  (global $pos (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))
  (func (export "clock_time_get") (param $id i32) (param $p i64) (param $out i32) (result i32)
    (local $at i32)
    (if (i32.ge_u (global.get $pos) (global.get $end))
      (then (global.set $end (i32.shl (call $refill) (i32.const 4)))
            (global.set $pos (i32.const 0))))
    (local.set $at (global.get $pos))
    (if (i64.ne (i64.extend_i32_u (local.get $id)) (i64.load $tape (local.get $at)))
      (then (return (i32.const 28))))
    (i64.store $g (local.get $out) (i64.load $tape offset=8 (local.get $at)))
    (global.set $pos (i32.add (local.get $at) (i32.const 16)))
    (i32.const 0)))"""


def main() -> None:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    guest_module = wasmtime.Module(engine, wasmtime.wat2wasm(GUEST))
    shim_module = wasmtime.Module(engine, wasmtime.wat2wasm(SHIM))
    items: list[int] = []  # decoded clock events as a replayer's chunk holds them
    for i in range(N + BATCH):
        items += [1, 7, 1, 1000 + i % 7]  # kind, fuel delta, clock id, delta
    pack = struct.Struct("<" + "Q" * (2 * BATCH)).pack_into

    def run(n: int) -> float:
        store = wasmtime.Store(engine)
        store.set_fuel(1 << 60)
        store.set_epoch_deadline(1 << 60)
        memory = wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1, None)))
        at, total = 0, 0
        views: list[memoryview] = []

        def refill() -> int:
            nonlocal at, total
            flat: list[int] = []
            add = flat.append
            for j in range(at, at + 4 * BATCH, 4):
                total += items[j + 3]
                add(items[j + 2])
                add(total)
            at += 4 * BATCH
            pack(views[0], 0, *flat)
            return BATCH

        functype = wasmtime.FuncType([], [wasmtime.ValType.i32()])
        shim = wasmtime.Instance(
            store, shim_module, [memory, wasmtime.Func(store, functype, refill)]
        )
        exports = shim.exports(store)
        tape = exports["tape"]
        assert isinstance(tape, wasmtime.Memory)
        base = ctypes.addressof(tape.data_ptr(store).contents)
        views.append(memoryview((ctypes.c_ubyte * tape.data_len(store)).from_address(base)))
        guest = wasmtime.Instance(store, guest_module, [exports["clock_time_get"], memory])
        start = time.thread_time()
        guest.exports(store)["run"](store, n)  # type: ignore[operator]
        return time.thread_time() - start

    with_n = min(run(N) for _ in range(5))
    with_0 = min(run(0) for _ in range(5))
    print(
        f"clock read served from wasm: {(with_n - with_0) / N * 1e6:.3f} us per event "
        f"(a Python refill every {BATCH}; trace decoding and checks not included)"
    )


if __name__ == "__main__":
    main()
